package dev.adrnorm.client;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The server a test talks to: the in-process {@link FakeServer}, or, when the environment has
 * ADRNORM_REAL_SERVER=1, a real {@code adrnorm serve} ({@link RealServer}).
 */
interface TestServer extends AutoCloseable {
    String host();

    int port();

    /** Stops the server abruptly (the process or every socket), mid-call if need be. */
    void kill();

    /**
     * Stops the server gracefully, as {@code adrnorm serve} does on SIGTERM (GoAway, the accepted
     * calls finish, then TLS close_notify and FIN), and waits until it has.
     */
    void terminate();

    @Override
    void close();

    static boolean real() {
        return "1".equals(System.getenv("ADRNORM_REAL_SERVER"));
    }

    static TestServer start() {
        return real() ? RealServer.start(root()) : new FakeServer(certs());
    }

    /** A server of the suite's kind on {@code port}: a restart where a killed one listened. */
    static TestServer startOn(int port) {
        return real() ? RealServer.start(root(), port) : new FakeServer(certs(), 8, 64, 4 * 1024 * 1024 + 1024, port);
    }

    /** The repository root: -Dadrnorm.root, or the first folder up from here with Package.swift. */
    static Path root() {
        String p = System.getProperty("adrnorm.root");
        if (p != null) return Path.of(p).toAbsolutePath();
        Path d = Path.of("").toAbsolutePath();
        while (d != null && !Files.exists(d.resolve("Package.swift"))) d = d.getParent();
        if (d == null) throw new IllegalStateException("cannot find the repository root; pass -Dadrnorm.root=…");
        return d;
    }

    static Path certs() {
        Path c = root().resolve("Certs/out");
        if (!Files.exists(c.resolve("ca.pem"))) {
            throw new IllegalStateException(c + " has no ca.pem: run Certs/make-dev-certs");
        }
        return c;
    }
}
