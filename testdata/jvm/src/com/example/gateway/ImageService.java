// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.gateway;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import javax.imageio.ImageIO;

/**
 * Decodes with ImageIO.read, which sizes the raster from the header's declared dimensions before
 * reading a single pixel: the flaw the decompression bomb exploits.
 */
final class ImageService {
    byte[] thumbnail(byte[] body, int max) throws IOException {
        BufferedImage src = ImageIO.read(new ByteArrayInputStream(body));
        if (src == null) {
            throw new IOException("not an image");
        }
        double scale = Math.min(1.0, (double) max / Math.max(src.getWidth(), src.getHeight()));
        int w = Math.max(1, (int) (src.getWidth() * scale));
        int h = Math.max(1, (int) (src.getHeight() * scale));
        BufferedImage dst = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = dst.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(src, 0, 0, w, h, null);
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(dst, "jpg", out);
        return out.toByteArray();
    }
}
