using Distill.Pose.Transforms;

namespace Distill.Pose.Data;

/// <summary>
/// Per-sample metadata of a collated batch: where the sample came from (its id and, when known, its data source) and
/// how each crop was cut.
/// </summary>
public sealed record TopdownSampleInfo(
    string Id,
    string? ImagePath,
    CropGeometry Geometry,
    IReadOnlyList<CropGeometry> TeacherGeometries,
    IReadOnlyList<AffineMatrix> StudentToTeacher,
    string? Source = null);
