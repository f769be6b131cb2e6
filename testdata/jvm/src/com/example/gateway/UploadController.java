// Part of the oombot fixture programs (testdata/jvm). Hand-written for oombot.
package com.example.gateway;

import java.io.IOException;

/** POST /api/v1/uploads: stores the original and answers with a thumbnail. */
final class UploadController {
    private final ImageService images;

    UploadController(ImageService images) {
        this.images = images;
    }

    byte[] upload(Upload u) throws IOException {
        if (!u.contentType.startsWith("image/")) {
            throw new IllegalArgumentException("unsupported content type " + u.contentType);
        }
        return images.thumbnail(u.body, 256);
    }
}
