package dev.adrnorm.client;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code .build/release/adrnorm serve} with the dev certificates and the demo assets, on a free port. */
final class RealServer implements TestServer {
    private final Process process;
    private final int port;

    private RealServer(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    static RealServer start(Path root) {
        return start(root, freePort());
    }

    /** On {@code port}: a restart where a killed server listened. */
    static RealServer start(Path root, int port) {
        Path exe = root.resolve(".build/release/adrnorm");
        if (!Files.isExecutable(exe)) throw new IllegalStateException(exe + " is missing: run Scripts/setup");
        Path certs = TestServer.certs();
        Path log = root.resolve(".build/java-client/server-" + port + ".log");
        try {
            Files.createDirectories(log.getParent());
            Process p = new ProcessBuilder(List.of(exe.toString(), "serve",
                    "--cert", certs.resolve("server.pem").toString(),
                    "--key", certs.resolve("server.key").toString(),
                    "--client-ca", certs.resolve("ca.pem").toString(),
                    "--listen", "127.0.0.1:" + port))
                    .directory(root.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < until) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("adrnorm serve exited with " + p.exitValue() + "; its log: " + log
                            + "\n" + tail(log));
                }
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    return new RealServer(p, port);
                } catch (IOException notYet) {
                    Thread.sleep(100);
                }
            }
            p.destroyForcibly();
            throw new IllegalStateException("adrnorm serve did not listen on port " + port + " within 120 s; log: " + log);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + exe + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String host() {
        return "127.0.0.1";
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void terminate() {
        process.destroy(); // SIGTERM: the graceful shutdown
        try {
            if (!process.waitFor(45, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("adrnorm serve did not exit within 45 s of SIGTERM");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    @Override
    public void close() {
        process.destroy(); // SIGTERM: the graceful shutdown
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

}
