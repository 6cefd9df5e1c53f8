// The README's example: normalizes two mentions against the demo server that `Scripts/demo`
// starts on 127.0.0.1:7443, one with a unary call and both as a stream. Run from the repository root:
//   Scripts/test-java-client --build-only
//   java -cp .build/java-client/classes:/usr/share/java/protobuf.jar Clients/java/examples/NormalizeExample.java
import dev.adrnorm.client.AdrnormClient;
import dev.adrnorm.client.AdrnormException;
import dev.adrnorm.client.NormalizeStream;
import dev.adrnorm.v1.MatchedTerm;
import dev.adrnorm.v1.NormalizeRequest;
import dev.adrnorm.v1.NormalizeResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

public class NormalizeExample {
    public static void main(String[] args) {
        try (AdrnormClient client = AdrnormClient.builder()
                .address("127.0.0.1", 7443)
                .trustCertificates(Path.of("Certs/out/ca.pem"))
                .keyPair(Path.of("Certs/out/client-a.pem"), Path.of("Certs/out/client-a.key"))
                .timeout(Duration.ofSeconds(30))
                .build()) {
            System.out.println("server: " + client.info().getServerName() + ", " + client.health().getStatus());

            NormalizeResponse one = client.normalize("吃完药后一直犯困头晕");
            for (MatchedTerm m : one.getMatchesList()) {
                System.out.printf("%s %s %.3f, code with LLT %s %s (%s)%n", m.getTerm().getPtCode(), m.getTerm().getPtName(),
                        m.getProbability(), m.getLlt().getLltCode(), m.getLlt().getLltName(), m.getLlt().getHow());
            }

            List<NormalizeRequest> batch = List.of(
                    NormalizeRequest.newBuilder().setId("r1").setMention("头痛").build(),
                    NormalizeRequest.newBuilder().setId("r2").setMention("恶心想吐").setThreshold(0.5).build());
            try (NormalizeStream results = client.normalizeStream(batch.iterator())) {
                while (results.hasNext()) {
                    NormalizeResponse r = results.next();
                    System.out.println(r.getId() + " -> " + (r.hasError() ? "error: " + r.getError().getMessage()
                            : r.getMatchesCount() + " matching PTs"));
                }
            }
        } catch (AdrnormException e) {
            System.err.println("adrnorm call failed: " + e.code() + ": " + e.status().message());
            System.exit(1);
        }
    }
}
