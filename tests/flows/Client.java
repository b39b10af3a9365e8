// Client.java: a WebSocket client on Java 17's java.net.http.WebSocket, run
// as a single-file program (`java Client.java URL`), for flow 3 of issue 6
// (p_tls_clientapp.md, "Java clients").  It trusts what the JVM trusts:
// -Djavax.net.ssl.trustStore=ts.p12 -Djavax.net.ssl.trustStorePassword=changeit
// with a truststore from `postern cert export … --format pkcs12`.
//
// It sends a text message (non-ASCII included), a 100,000-byte binary
// message (every byte value) and a 70,000-character text, requires each back
// identical and of the same type, closes with 1000 and requires 1000 back.
// Prints "OK …" with SHA-256 digests of what came back and exits 0, or
// prints "FAIL" and the exception chain and exits 1.
// SPDX-License-Identifier: Apache-2.0

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

public class Client {
    static final int TIMEOUT_S = 20;

    record Closed(int code, String reason) {}

    static final class Collector implements WebSocket.Listener {
        final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
        private final StringBuilder text = new StringBuilder();
        private final ByteArrayOutputStream binary = new ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                messages.add(text.toString());
                text.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] chunk = new byte[data.remaining()];
            data.get(chunk);
            binary.writeBytes(chunk);
            if (last) {
                messages.add(binary.toByteArray());
                binary.reset();
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
            messages.add(new Closed(code, reason));
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            messages.add(error);
        }
    }

    static Object next(Collector c, String what) throws Exception {
        Object m = c.messages.poll(TIMEOUT_S, TimeUnit.SECONDS);
        if (m == null)
            throw new IllegalStateException("no " + what + " within " + TIMEOUT_S + " s");
        if (m instanceof Throwable t)
            throw new IllegalStateException("error while waiting for " + what, t);
        return m;
    }

    static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    public static void main(String[] args) {
        try {
            run(args[0]);
        } catch (Throwable t) {
            System.out.println("FAIL");
            for (Throwable e = t; e != null; e = e.getCause())
                System.out.println("  " + e.getClass().getName() + ": " + e.getMessage());
            System.exit(1);
        }
    }

    static void run(String url) throws Exception {
        String text = "java.net.http.WebSocket: héllo ✓ 🔒";
        byte[] bin = new byte[100_000];
        for (int i = 0; i < bin.length; i++)
            bin[i] = (byte) ((i * 131 + 7) & 0xff);
        String big = "j".repeat(70_000);

        Collector c = new Collector();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(TIMEOUT_S)).build();
        WebSocket ws = http.newWebSocketBuilder()
                .connectTimeout(Duration.ofSeconds(TIMEOUT_S))
                .buildAsync(URI.create(url), c)
                .get(TIMEOUT_S, TimeUnit.SECONDS);

        ws.sendText(text, true).get(TIMEOUT_S, TimeUnit.SECONDS);
        Object got = next(c, "text echo");
        if (!(got instanceof String s) || !s.equals(text))
            throw new IllegalStateException("text echo differs: " + got);

        ws.sendBinary(ByteBuffer.wrap(bin), true).get(TIMEOUT_S, TimeUnit.SECONDS);
        got = next(c, "binary echo");
        if (!(got instanceof byte[] b) || !java.util.Arrays.equals(b, bin))
            throw new IllegalStateException("binary echo differs (" + got.getClass().getSimpleName() + ")");
        String binSha = sha256((byte[]) got);

        ws.sendText(big, true).get(TIMEOUT_S, TimeUnit.SECONDS);
        got = next(c, "70,000-character echo");
        if (!(got instanceof String s2) || !s2.equals(big))
            throw new IllegalStateException("long text echo differs");

        ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(TIMEOUT_S, TimeUnit.SECONDS);
        got = next(c, "close frame");
        if (!(got instanceof Closed closed) || closed.code() != 1000)
            throw new IllegalStateException("expected close 1000 from the server, got " + got);

        System.out.println("OK text=" + sha256(text.getBytes(StandardCharsets.UTF_8))
                + " binary=" + binSha + " long=" + big.length() + " close=1000");
    }
}
