package dev.adrnorm.client;

/**
 * The one exception the client throws: a failed call (the server's {@link Status}), or a local
 * failure given a status of its own: {@code UNAVAILABLE} for a lost or closing connection,
 * {@code DEADLINE_EXCEEDED} for a call's timeout, {@code UNAUTHENTICATED} for a certificate the
 * server or the client refused, {@code INVALID_ARGUMENT} for a bad PEM file or builder setting.
 * Unchecked, so that it can leave {@link java.util.Iterator#next()}.
 */
public class AdrnormException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Status status;

    public AdrnormException(Status status) {
        this(status, null);
    }

    public AdrnormException(Status status, Throwable cause) {
        super(status.toString(), cause);
        this.status = status;
    }

    public AdrnormException(Status.Code code, String message) {
        this(new Status(code, message), null);
    }

    public AdrnormException(Status.Code code, String message, Throwable cause) {
        this(new Status(code, message), cause);
    }

    public Status status() {
        return status;
    }

    /** Shorthand for {@code status().code()}. */
    public Status.Code code() {
        return status.code();
    }
}
