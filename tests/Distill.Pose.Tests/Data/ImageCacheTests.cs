using Distill.Pose.Data;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.Data;

public class ImageCacheTests
{
    [Fact]
    public void LeastRecentlyUsedImageIsEvicted()
    {
        var reads = new List<string>();
        var cache = new ImageCache(2, path =>
        {
            lock (reads) reads.Add(path);
            return new Image(1, 1);
        });
        var a = cache.Get("a");
        cache.Get("b");
        Assert.Same(a, cache.Get("a"));  // a is now the most recent
        cache.Get("c");                  // evicts b
        cache.Get("a");
        cache.Get("b");                  // read again, evicts c
        Assert.Equal(["a", "b", "c", "b"], reads);
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void FailedDecodeIsNotCachedAndConcurrentRequestsReadOnce()
    {
        int calls = 0;
        var cache = new ImageCache(4, path =>
        {
            int n = Interlocked.Increment(ref calls);
            if (path == "bad" && n == 1) throw new InvalidDataException("bad: corrupt");
            Thread.Sleep(20);
            return new Image(2, 2);
        });
        Assert.Throws<InvalidDataException>(() => cache.Get("bad"));
        cache.Get("bad");
        Assert.Equal(2, calls);

        var images = new Image[8];
        Parallel.For(0, 8, i => images[i] = cache.Get("shared"));
        Assert.Equal(3, calls);
        Assert.All(images, img => Assert.Same(images[0], img));
    }
}
