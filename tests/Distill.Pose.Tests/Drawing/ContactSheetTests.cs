using Distill.Pose.Drawing;
using Distill.Torch.Vision;

namespace Distill.Pose.Tests.Drawing;

public sealed class ContactSheetTests
{
    private static Image Solid(int w, int h, byte r, byte g, byte b)
    {
        var img = new Image(h, w, 3);
        for (int i = 0; i < img.Data.Length; i += 3)
        {
            img.Data[i] = r;
            img.Data[i + 1] = g;
            img.Data[i + 2] = b;
        }
        return img;
    }

    private static (byte, byte, byte) Px(Image img, int x, int y) => (img[y, x, 0], img[y, x, 1], img[y, x, 2]);

    [Fact]
    public void LaysImagesOutInRowsWithGaps()
    {
        var images = new[]
        {
            Solid(40, 30, 255, 0, 0), Solid(40, 30, 0, 255, 0), Solid(40, 30, 0, 0, 255),
            Solid(40, 30, 255, 255, 0), Solid(40, 30, 0, 255, 255),
        };
        var sheet = PoseDrawing.ContactSheet(images, columns: 2, cellWidth: 40, cellHeight: 30);
        // 2 columns, 3 rows, 2-pixel gaps around every cell: 2*40 + 3*2 = 86 wide, 3*30 + 4*2 = 98 high.
        Assert.Equal(86, sheet.Width);
        Assert.Equal(98, sheet.Height);
        // Cell (col, row) starts at (2 + col * 42, 2 + row * 32); its centre shows the image at that index.
        for (int i = 0; i < images.Length; i++)
        {
            int x = 2 + (i % 2) * 42 + 20, y = 2 + (i / 2) * 32 + 15;
            Assert.Equal(Px(images[i], 0, 0), Px(sheet, x, y));
        }
        Assert.Equal(((byte)32, (byte)32, (byte)32), Px(sheet, 43, 15)); // gap between the columns
        Assert.Equal(((byte)32, (byte)32, (byte)32), Px(sheet, 2 + 42 + 20, 2 + 2 * 32 + 15)); // the empty sixth cell
    }

    [Fact]
    public void KeepsAspectRatioAndCentresInTheCell()
    {
        // A 20x10 image in a 40x30 cell scales by min(40/20, 30/10) = 2 to 40x20, leaving 5 rows above and below.
        var sheet = PoseDrawing.ContactSheet([Solid(20, 10, 200, 10, 10)], columns: 3, cellWidth: 40, cellHeight: 30);
        Assert.Equal((44, 34), (sheet.Width, sheet.Height)); // one image: one 40x30 cell with 2-pixel gaps
        Assert.Equal(((byte)32, (byte)32, (byte)32), Px(sheet, 22, 2 + 4)); // row 4 of the cell: letterbox
        Assert.Equal(((byte)200, (byte)10, (byte)10), Px(sheet, 22, 2 + 5)); // first image row
        Assert.Equal(((byte)200, (byte)10, (byte)10), Px(sheet, 22, 2 + 24)); // last image row
        Assert.Equal(((byte)32, (byte)32, (byte)32), Px(sheet, 22, 2 + 25));
    }

    [Fact]
    public void OverlaysDrawGroundTruthAndPredictionOnCopies()
    {
        var img = Solid(60, 60, 0, 0, 0);
        var gt = new PoseLayer([10, 10, 50, 10], [1, 1], [(0, 1)], PoseDrawing.GroundTruthColour);
        var pred = new PoseLayer([10, 50, 50, 50], [1, 1], [(0, 1)], PoseDrawing.PredictionColour);
        var sheet = PoseDrawing.ContactSheet([new PoseOverlay(img, [gt, pred])], columns: 1, cellWidth: 60, cellHeight: 60);
        Assert.Equal(PoseDrawing.GroundTruthColour, Px(sheet, 2 + 30, 2 + 10));
        Assert.Equal(PoseDrawing.PredictionColour, Px(sheet, 2 + 30, 2 + 50));
        Assert.All(img.Data, b => Assert.Equal(0, b)); // the source image is untouched
    }

    [Fact]
    public void RejectsAnEmptySheetOrNoColumns()
    {
        Assert.Throws<ArgumentException>(() => PoseDrawing.ContactSheet(Array.Empty<Image>(), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PoseDrawing.ContactSheet([Solid(4, 4, 1, 1, 1)], 0));
    }
}
