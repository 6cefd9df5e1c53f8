package dev.adrnorm.client;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Reads PEM certificates and private keys directly (no keytool step) and builds the
 * {@link SSLContext} of a client or of a test server. Private keys: PKCS#8
 * ("BEGIN PRIVATE KEY", what {@code openssl genpkey} writes), SEC1 EC ("BEGIN EC PRIVATE KEY")
 * and PKCS#1 RSA ("BEGIN RSA PRIVATE KEY"); encrypted keys are refused with a message that says
 * how to decrypt them. Every error names the file.
 */
final class PemFiles {
    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");
    private static final char[] NO_PASSWORD = new char[0];

    private PemFiles() {}

    /** Every certificate in a PEM file, in file order (a leaf first, then its chain). */
    static List<X509Certificate> certificates(Path file) {
        String text = read(file, "certificate");
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (Block b : blocks(text)) {
                if (!b.type.equals("CERTIFICATE")) continue;
                out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(b.der)));
            }
        } catch (CertificateException e) {
            throw invalid(file + ": not a valid X.509 certificate: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw invalid(file + ": no \"-----BEGIN CERTIFICATE-----\" block; expected a PEM certificate", null);
        }
        return out;
    }

    /** The first private key in a PEM file. */
    static PrivateKey privateKey(Path file) {
        String text = read(file, "private key");
        for (Block b : blocks(text)) {
            switch (b.type) {
                case "PRIVATE KEY":
                    return pkcs8(file, b.der);
                case "EC PRIVATE KEY":
                    return pkcs8(file, sec1ToPkcs8(file, b.der));
                case "RSA PRIVATE KEY":
                    return pkcs8(file, wrapPkcs8(RSA_ALGORITHM_ID, b.der));
                case "ENCRYPTED PRIVATE KEY":
                    throw invalid(file + ": the private key is encrypted; decrypt it first, e.g. "
                            + "`openssl pkey -in " + file + " -out plain.key`", null);
                default:
                    break;
            }
        }
        throw invalid(file + ": no \"-----BEGIN PRIVATE KEY-----\" (PKCS#8), \"EC PRIVATE KEY\" or "
                + "\"RSA PRIVATE KEY\" block; expected an unencrypted PEM private key", null);
    }

    /**
     * An SSLContext for TLS 1.3 that trusts {@code caFile}'s certificates and, when
     * {@code certFile} is given, presents that certificate chain with {@code keyFile}'s key.
     */
    static SSLContext sslContext(Path caFile, Path certFile, Path keyFile) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            int i = 0;
            for (X509Certificate ca : certificates(caFile)) {
                trust.setCertificateEntry("ca-" + i++, ca);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);

            KeyManagerFactory kmf = null;
            if (certFile != null) {
                List<X509Certificate> chain = certificates(certFile);
                PrivateKey key = privateKey(keyFile);
                checkPair(certFile, chain.get(0), keyFile, key);
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                keys.setKeyEntry("key", key, NO_PASSWORD, chain.toArray(new Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, NO_PASSWORD);
            }
            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw invalid("cannot set up TLS with CA " + caFile + ", certificate " + certFile
                    + ", key " + keyFile + ": " + e.getMessage(), e);
        }
    }

    /** Fails unless the key signs what the certificate's public key verifies. */
    private static void checkPair(Path certFile, X509Certificate cert, Path keyFile, PrivateKey key) {
        PublicKey pub = cert.getPublicKey();
        if (!pub.getAlgorithm().equals(key.getAlgorithm())) {
            throw invalid(keyFile + " is a " + key.getAlgorithm() + " key but " + certFile
                    + " holds a " + pub.getAlgorithm() + " public key; they are not a pair", null);
        }
        String alg = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> null;
        };
        if (alg == null) return;
        try {
            byte[] probe = "adrnorm key pair check".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(pub);
            v.update(probe);
            if (!v.verify(sig)) {
                throw invalid(keyFile + " does not belong to the certificate in " + certFile
                        + "; pass the key that was made with that certificate", null);
            }
        } catch (GeneralSecurityException e) {
            throw invalid("cannot check that " + keyFile + " matches " + certFile + ": " + e.getMessage(), e);
        }
    }

    private static PrivateKey pkcs8(Path file, byte[] der) {
        for (String alg : new String[] {"EC", "RSA", "EdDSA", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException | RuntimeException ignored) {
                // try the next algorithm
            }
        }
        throw invalid(file + ": the private key is not an EC, RSA or EdDSA key this JVM can read", null);
    }

    // AlgorithmIdentifier { rsaEncryption, NULL }
    private static final byte[] RSA_ALGORITHM_ID = {
        0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00
    };
    // OID 1.2.840.10045.2.1 (id-ecPublicKey)
    private static final byte[] EC_PUBLIC_KEY_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

    /** SEC1 ECPrivateKey → PKCS#8, taking the curve from the SEC1 [0] parameters. */
    private static byte[] sec1ToPkcs8(Path file, byte[] sec1) {
        Der outer = new Der(sec1, 0);
        if (outer.tag != 0x30) throw invalid(file + ": malformed EC PRIVATE KEY (not a DER sequence)", null);
        int p = outer.contentStart;
        byte[] curveOid = null;
        while (p < outer.end) {
            Der el = new Der(sec1, p);
            if (el.tag == 0xa0) {
                Der oid = new Der(sec1, el.contentStart);
                curveOid = java.util.Arrays.copyOfRange(sec1, oid.start, oid.end);
            }
            p = el.end;
        }
        if (curveOid == null) {
            throw invalid(file + ": the EC PRIVATE KEY names no curve; convert it with "
                    + "`openssl pkcs8 -topk8 -nocrypt -in " + file + "`", null);
        }
        byte[] algId = tlv(0x30, concat(EC_PUBLIC_KEY_OID, curveOid));
        return wrapPkcs8(algId, sec1);
    }

    private static byte[] wrapPkcs8(byte[] algorithmId, byte[] key) {
        byte[] version = {0x02, 0x01, 0x00};
        return tlv(0x30, concat(version, algorithmId, tlv(0x04, key)));
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else {
            int bytes = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) out.write((n >>> (8 * i)) & 0xff);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    /** One DER element: tag, where its content starts, where it ends. */
    private static final class Der {
        final int tag, start, contentStart, end;

        Der(byte[] b, int at) {
            if (at + 2 > b.length) throw new IllegalArgumentException("truncated DER");
            start = at;
            tag = b[at] & 0xff;
            int len = b[at + 1] & 0xff;
            int p = at + 2;
            if (len >= 0x80) {
                int n = len & 0x7f;
                if (n == 0 || n > 4 || p + n > b.length) throw new IllegalArgumentException("bad DER length");
                len = 0;
                for (int i = 0; i < n; i++) len = (len << 8) | (b[p++] & 0xff);
            }
            contentStart = p;
            end = p + len;
            if (len < 0 || end > b.length) throw new IllegalArgumentException("truncated DER");
        }
    }

    private record Block(String type, byte[] der) {}

    private static List<Block> blocks(String text) {
        List<Block> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String body = m.group(2);
            // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED") mark a legacy encrypted key.
            if (body.contains(":")) {
                if (body.contains("ENCRYPTED")) out.add(new Block("ENCRYPTED PRIVATE KEY", new byte[0]));
                continue;
            }
            try {
                out.add(new Block(m.group(1), Base64.getMimeDecoder().decode(body)));
            } catch (IllegalArgumentException e) {
                // not base64: not a block we can use
            }
        }
        return out;
    }

    private static String read(Path file, String what) {
        if (file == null) throw invalid("no " + what + " file given", null);
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw invalid("cannot read " + what + " file " + file + ": " + e, e);
        } catch (RuntimeException e) {
            throw invalid(file + " is not a PEM " + what + " file (not ASCII text)", e);
        }
    }

    private static AdrnormException invalid(String message, Throwable cause) {
        return new AdrnormException(Status.Code.INVALID_ARGUMENT, message, cause);
    }
}
