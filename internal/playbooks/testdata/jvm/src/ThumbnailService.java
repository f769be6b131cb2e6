import java.awt.image.BufferedImage;
import java.io.File;
import java.util.concurrent.*;
import javax.imageio.ImageIO;

// Decodes an uploaded image on a request-handler thread, the way a thumbnail
// endpoint does, without checking its dimensions first.
public class ThumbnailService {
    static BufferedImage thumbnail(File upload) throws Exception {
        BufferedImage img = ImageIO.read(upload);
        return img;
    }
    public static void main(String[] args) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(1, r -> new Thread(r, "http-nio-8080-exec-3"));
        Future<?> f = pool.submit(() -> { thumbnail(new File(args[0])); return null; });
        try { f.get(); } catch (ExecutionException e) { e.getCause().printStackTrace(); }
        pool.shutdown();
    }
}
