using Distill.Pose.Transforms;

namespace Distill.Pose.Tests.Transforms;

public class CropGeometryTests
{
    [Fact]
    public void AffineProductAppliesRightOperandFirst()
    {
        var scale = AffineMatrix.Scaling(2, 3);
        var shift = AffineMatrix.Translation(10, -1);
        // (shift * scale)(1, 1) = shift(2, 3) = (12, 2); (scale * shift)(1, 1) = scale(11, 0) = (22, 0).
        Assert.Equal((12.0, 2.0), (shift * scale).Apply(1, 1));
        Assert.Equal((22.0, 0.0), (scale * shift).Apply(1, 1));
        Assert.Equal((12.0, 2.0), scale.Then(shift).Apply(1, 1));
        var m = new AffineMatrix(0.3, -1.2, 5, 2.2, 0.7, -3);
        Assert.True((m * m.Invert()).ApproximatelyEquals(AffineMatrix.Identity, 1e-12));
        Assert.Throws<InvalidOperationException>(() => new AffineMatrix(1, 2, 0, 2, 4, 0).Invert());
    }

    [Fact]
    public void UnflippedGeometryMapsThroughTheWarpMatrix()
    {
        // Centre (100, 200), scale (96, 128) into 192 x 256: x' = 2x - 104, y' = 2y - 272.
        var g = new CropGeometry((100, 200), (96, 128), 0, false, 640, (192, 256));
        Assert.Equal((96.0, 128.0), g.ImageToCrop(100, 200));
        Assert.Equal((-104.0, -272.0), g.ImageToCrop(0, 0));
        Assert.Equal((52.0, 136.0), g.CropToImage(0, 0));
        Assert.Equal(2.0, g.PixelsPerSourcePixel);
    }

    [Fact]
    public void FlippedGeometryMirrorsOriginalPointsFirst()
    {
        // Image width 640: the original point (539, 200) is (640 - 1 - 539, 200) = (100, 200) in the mirrored image,
        // which is the box centre, so it lands on the crop centre.
        var g = new CropGeometry((100, 200), (96, 128), 0, true, 640, (192, 256));
        var p = g.ImageToCrop(539, 200);
        Assert.Equal(96.0, p.X, 9);
        Assert.Equal(128.0, p.Y, 9);
        // One original pixel to the right is one mirrored pixel to the left: 2 crop px left.
        Assert.Equal(94.0, g.ImageToCrop(540, 200).X, 9);
        var back = g.CropToImage(94, 128);
        Assert.Equal(540.0, back.X, 9);
        Assert.Equal((539.0, 200.0), g.CenterInImage);
    }

    [Fact]
    public void SpanMappingRoundTrips()
    {
        var g = new CropGeometry((250.5, 180.25), (150, 200), 33, true, 512, (192, 256));
        float[] pts = [10, 20, 300.5f, 111, 511, 383];
        var crop = new float[6];
        var back = new float[6];
        g.ImageToCrop(pts, crop);
        g.CropToImage(crop, back);
        for (int i = 0; i < pts.Length; i++) Assert.Equal(pts[i], back[i], 3);
    }

    [Fact]
    public void TeacherViewExpandsTheStudentBoxToTheTeacherAspect()
    {
        // Student 192 x 256 box (150, 200); a 256 x 256 teacher expands the width: (200, 200). Same centre,
        // rotation and flip.
        var student = new CropGeometry((300, 220), (150, 200), -25, true, 640, (192, 256));
        var teacher = TeacherView.Geometry(student, (256, 256));
        Assert.Equal((200.0, 200.0), teacher.Scale);
        Assert.Equal(student.Center, teacher.Center);
        Assert.Equal(student.Rotation, teacher.Rotation);
        Assert.True(teacher.Flipped);
        Assert.Equal((256, 256), teacher.OutputSize);

        // Student px per source px = 192 / 150 = 1.28, teacher 256 / 200 = 1.28: the map is a pure translation by
        // the difference of the crop centres, (128 - 96, 128 - 128) = (32, 0), whatever the rotation and flip.
        var map = TeacherView.StudentToTeacher(student, teacher);
        Assert.True(map.ApproximatelyEquals(new AffineMatrix(1, 0, 32, 0, 1, 0), 1e-9), map.ToString());
    }

    [Fact]
    public void TeacherOfAnotherShapeScalesAboutTheCropCentres()
    {
        // Student 192 x 256, box (150, 200). A 288 x 384 teacher (same 0.75 aspect) keeps the box: k = 288 / 192
        // = 1.5 teacher px per student px, centres (96, 128) -> (144, 192).
        var student = new CropGeometry((300, 220), (150, 200), 40, false, 640, (192, 256));
        var teacher = TeacherView.Geometry(student, (288, 384));
        Assert.Equal((150.0, 200.0), teacher.Scale);
        var map = TeacherView.StudentToTeacher(student, teacher);
        Assert.True(map.ApproximatelyEquals(new AffineMatrix(1.5, 0, 0, 0, 1.5, 0), 1e-9), map.ToString());
        // The same source point seen through both crops.
        var s = student.ImageToCrop(333, 250);
        var t = teacher.ImageToCrop(333, 250);
        var mapped = map.Apply(s.X, s.Y);
        Assert.Equal(t.X, mapped.X, 9);
        Assert.Equal(t.Y, mapped.Y, 9);
    }
}
