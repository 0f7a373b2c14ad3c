using Distill.Torch.Vision;

namespace Distill.Pose.Drawing;

/// <summary>Overlays of keypoints and skeleton links on images, and contact sheets of several overlays.</summary>
public static class PoseDrawing
{
    /// <summary>Default colour of ground-truth poses.</summary>
    public static readonly (byte R, byte G, byte B) GroundTruthColour = (40, 230, 70);

    /// <summary>Default colour of predicted poses.</summary>
    public static readonly (byte R, byte G, byte B) PredictionColour = (255, 50, 60);

    /// <summary>
    /// Draws one pose: links between keypoints whose scores both exceed <paramref name="kptThreshold"/>, then those
    /// keypoints as dots with a dark rim. <paramref name="keypoints"/> holds (x, y) pairs in pixels;
    /// <paramref name="scores"/> one value per keypoint (a confidence, or a COCO visibility 0/1/2 with a threshold
    /// such as 0.5). <paramref name="skeleton"/> lists 0-based keypoint index pairs.
    /// </summary>
    public static void DrawPose(Image image, ReadOnlySpan<double> keypoints, ReadOnlySpan<double> scores,
        IReadOnlyList<(int A, int B)> skeleton, (byte R, byte G, byte B) colour, double radius = 3, int thickness = 2,
        double kptThreshold = 0.3)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(skeleton);
        int k = scores.Length;
        if (keypoints.Length != 2 * k)
            throw new ArgumentException($"keypoints hold {keypoints.Length} values but {k} scores need {2 * k} (x, y pairs)", nameof(keypoints));
        if (radius <= 0) throw new ArgumentOutOfRangeException(nameof(radius), radius, "radius must be positive");
        if (thickness <= 0) throw new ArgumentOutOfRangeException(nameof(thickness), thickness, "thickness must be positive");
        for (int i = 0; i < skeleton.Count; i++)
        {
            var (a, b) = skeleton[i];
            if (a < 0 || a >= k || b < 0 || b >= k)
                throw new ArgumentException($"skeleton link {i} ({a}, {b}) refers to a keypoint outside 0..{k - 1}", nameof(skeleton));
        }

        foreach (var (a, b) in skeleton)
        {
            if (scores[a] > kptThreshold && scores[b] > kptThreshold)
                image.DrawLine(keypoints[2 * a], keypoints[2 * a + 1], keypoints[2 * b], keypoints[2 * b + 1], colour, thickness);
        }
        var rim = ((byte)(colour.R / 4), (byte)(colour.G / 4), (byte)(colour.B / 4));
        for (int i = 0; i < k; i++)
        {
            if (scores[i] <= kptThreshold) continue;
            image.DrawCircle(keypoints[2 * i], keypoints[2 * i + 1], radius + 1, rim, -1);
            image.DrawCircle(keypoints[2 * i], keypoints[2 * i + 1], radius, colour, -1);
        }
    }

    /// <summary><see cref="DrawPose(Image, ReadOnlySpan{double}, ReadOnlySpan{double}, IReadOnlyList{ValueTuple{int, int}}, ValueTuple{byte, byte, byte}, double, int, double)"/>
    /// for single-precision keypoints and scores, as decoders produce them.</summary>
    public static void DrawPose(Image image, ReadOnlySpan<float> keypoints, ReadOnlySpan<float> scores,
        IReadOnlyList<(int A, int B)> skeleton, (byte R, byte G, byte B) colour, double radius = 3, int thickness = 2,
        double kptThreshold = 0.3)
    {
        var kp = new double[keypoints.Length];
        var sc = new double[scores.Length];
        for (int i = 0; i < kp.Length; i++) kp[i] = keypoints[i];
        for (int i = 0; i < sc.Length; i++) sc[i] = scores[i];
        DrawPose(image, kp, sc, skeleton, colour, radius, thickness, kptThreshold);
    }

    /// <summary>Draws <paramref name="pose"/> with its own colour, sizes and threshold.</summary>
    public static void DrawPose(Image image, PoseLayer pose) =>
        DrawPose(image, pose.Keypoints, pose.Scores, pose.Skeleton, pose.Colour, pose.Radius, pose.Thickness, pose.KptThreshold);

    /// <summary>Draws every pose of each item on a copy of its image, then lays the copies out as a contact sheet.</summary>
    public static Image ContactSheet(IReadOnlyList<PoseOverlay> items, int columns, int cellWidth = 256, int cellHeight = 256)
    {
        ArgumentNullException.ThrowIfNull(items);
        var drawn = new List<Image>(items.Count);
        foreach (var item in items)
        {
            var img = item.Image.Clone();
            foreach (var p in item.Poses) DrawPose(img, p);
            drawn.Add(img);
        }
        return ContactSheet(drawn, columns, cellWidth, cellHeight);
    }

    /// <summary>
    /// A grid of images, <paramref name="columns"/> per row, each scaled to fit its cell with its aspect ratio kept
    /// and centred; cells are separated by a 2-pixel dark gap.
    /// </summary>
    public static Image ContactSheet(IReadOnlyList<Image> images, int columns, int cellWidth = 256, int cellHeight = 256)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("a contact sheet needs at least one image", nameof(images));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be at least 1");
        if (cellWidth < 1 || cellHeight < 1) throw new ArgumentException($"invalid cell size {cellWidth}x{cellHeight}");
        const int gap = 2;
        const byte backdrop = 32;
        int cols = Math.Min(columns, images.Count), rows = (images.Count + cols - 1) / cols;
        var sheet = new Image(rows * cellHeight + (rows + 1) * gap, cols * cellWidth + (cols + 1) * gap, 3);
        Array.Fill(sheet.Data, backdrop);
        for (int i = 0; i < images.Count; i++)
        {
            var src = images[i];
            double f = Math.Min((double)cellWidth / src.Width, (double)cellHeight / src.Height);
            int w = Math.Max(1, (int)Math.Round(src.Width * f)), h = Math.Max(1, (int)Math.Round(src.Height * f));
            var fitted = Rgb(w == src.Width && h == src.Height ? src : src.Resize(w, h));
            int x0 = gap + (i % cols) * (cellWidth + gap) + (cellWidth - w) / 2;
            int y0 = gap + (i / cols) * (cellHeight + gap) + (cellHeight - h) / 2;
            for (int y = 0; y < h; y++)
                Buffer.BlockCopy(fitted.Data, y * w * 3, sheet.Data, ((y0 + y) * sheet.Width + x0) * 3, w * 3);
        }
        return sheet;
    }

    /// <summary>Gray and RGBA images are shown as RGB.</summary>
    private static Image Rgb(Image img)
    {
        if (img.Channels == 3) return img;
        var rgb = new Image(img.Height, img.Width, 3);
        int n = img.Height * img.Width;
        for (int p = 0; p < n; p++)
        {
            for (int c = 0; c < 3; c++)
                rgb.Data[p * 3 + c] = img.Channels == 1 ? img.Data[p] : img.Data[p * img.Channels + c];
        }
        return rgb;
    }
}
