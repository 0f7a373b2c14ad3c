using Distill.Torch.Vision;

namespace Distill.Pose.Transforms;

/// <summary>A teacher's view of a sample: its geometry, the augmented 8-bit crop, the normalised CHW input, and the
/// map from student crop pixels to this crop's pixels.</summary>
public sealed record TeacherCrop(CropGeometry Geometry, Image Crop, float[] Input, AffineMatrix StudentToTeacher);
