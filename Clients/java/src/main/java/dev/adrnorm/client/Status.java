package dev.adrnorm.client;

import java.util.Objects;

/**
 * The outcome of a call: a status code with gRPC's numbers and names (docs/PROTOCOL.md §Statuses) and a
 * human-readable message. The server ends every stream with one; the client makes its own
 * for local failures (a deadline that passed, a lost connection, a refused certificate).
 */
public final class Status {
    /** Status codes, mirroring gRPC's (and the wire enum {@code adrnorm.wire.v1.Code}). */
    public enum Code {
        OK(0), CANCELLED(1), UNKNOWN(2), INVALID_ARGUMENT(3), DEADLINE_EXCEEDED(4), NOT_FOUND(5),
        ALREADY_EXISTS(6), PERMISSION_DENIED(7), RESOURCE_EXHAUSTED(8), FAILED_PRECONDITION(9),
        ABORTED(10), OUT_OF_RANGE(11), UNIMPLEMENTED(12), INTERNAL(13), UNAVAILABLE(14),
        DATA_LOSS(15), UNAUTHENTICATED(16);

        private final int value;

        Code(int value) {
            this.value = value;
        }

        /** The code's number on the wire. */
        public int value() {
            return value;
        }

        /** The code with this wire number; {@link #UNKNOWN} for a number this client does not know. */
        public static Code forNumber(int value) {
            for (Code c : values()) {
                if (c.value == value) return c;
            }
            return UNKNOWN;
        }
    }

    private final Code code;
    private final String message;

    public Status(Code code, String message) {
        this.code = Objects.requireNonNull(code, "code");
        this.message = message == null ? "" : message;
    }

    public Code code() {
        return code;
    }

    public String message() {
        return message;
    }

    public boolean isOk() {
        return code == Code.OK;
    }

    @Override
    public String toString() {
        return message.isEmpty() ? code.name() : code.name() + ": " + message;
    }
}
