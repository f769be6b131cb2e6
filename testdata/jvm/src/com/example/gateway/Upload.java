// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.gateway;

import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/** One uploaded file as the gateway receives it. */
final class Upload {
    final String name;
    final String contentType;
    final byte[] body;

    Upload(String name, String contentType, byte[] body) {
        this.name = name;
        this.contentType = contentType;
        this.body = body;
    }

    /** Encodes a handful of camera-sized photos once; requests then replay them. */
    static List<Upload> samples(Random rnd) throws IOException {
        int[][] sizes = {{1280, 960}, {1600, 1200}, {2048, 1536}, {1920, 1080}, {2400, 1600}, {1024, 768}};
        List<Upload> out = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            BufferedImage img = new BufferedImage(sizes[i][0], sizes[i][1], BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setPaint(new GradientPaint(0, 0, new Color(rnd.nextInt()), sizes[i][0], sizes[i][1], new Color(rnd.nextInt())));
            g.fillRect(0, 0, sizes[i][0], sizes[i][1]);
            for (int k = 0; k < 40; k++) {
                g.setColor(new Color(rnd.nextInt()));
                g.fillOval(rnd.nextInt(sizes[i][0]), rnd.nextInt(sizes[i][1]), 40 + rnd.nextInt(300), 40 + rnd.nextInt(300));
            }
            g.dispose();
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            String fmt = i % 2 == 0 ? "jpg" : "png";
            javax.imageio.ImageIO.write(img, fmt, bos);
            out.add(new Upload(String.format("IMG_%04d.%s", 4100 + i * 37, fmt), "image/" + (fmt.equals("jpg") ? "jpeg" : "png"),
                    bos.toByteArray()));
        }
        return out;
    }

    /**
     * Crafts a valid 8-bit grayscale PNG of width x height whose pixels are all zero. Zero rows
     * deflate about 1000:1, so a 30000x30000 image (900 MB of pixels) is well under 1 MB on the wire.
     */
    static Upload bomb(String name, int width, int height) {
        try {
            ByteArrayOutputStream idat = new ByteArrayOutputStream();
            Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
            try (DeflaterOutputStream z = new DeflaterOutputStream(idat, deflater, 1 << 16)) {
                byte[] row = new byte[width + 1]; // filter byte 0 (None) + width zero samples
                for (int y = 0; y < height; y++) {
                    z.write(row);
                }
            }
            deflater.end();
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(png);
            out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
            ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
            DataOutputStream h = new DataOutputStream(ihdr);
            h.writeInt(width);
            h.writeInt(height);
            h.writeByte(8); // bit depth
            h.writeByte(0); // colour type: grayscale
            h.writeByte(0); // compression
            h.writeByte(0); // filter
            h.writeByte(0); // interlace
            chunk(out, "IHDR", ihdr.toByteArray());
            byte[] data = idat.toByteArray();
            for (int off = 0; off < data.length; off += 1 << 15) {
                int len = Math.min(1 << 15, data.length - off);
                byte[] part = new byte[len];
                System.arraycopy(data, off, part, 0, len);
                chunk(out, "IDAT", part);
            }
            chunk(out, "IEND", new byte[0]);
            return new Upload(name, "image/png", png.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.writeInt(data.length);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt((int) crc.getValue());
    }
}
