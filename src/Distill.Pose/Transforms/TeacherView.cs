namespace Distill.Pose.Transforms;

/// <summary>
/// The crop a teacher with its own input size sees of the student's sample: the same centre, rotation and flip,
/// the student's box with its aspect ratio re-fixed to the teacher's (the short side expanded, so the teacher sees
/// at least everything the student sees), warped at the teacher's input size.
/// </summary>
public static class TeacherView
{
    public static CropGeometry Geometry(CropGeometry student, (int Width, int Height) teacherInputSize)
    {
        ArgumentNullException.ThrowIfNull(student);
        if (teacherInputSize.Width <= 0 || teacherInputSize.Height <= 0)
            throw new ArgumentOutOfRangeException(nameof(teacherInputSize), teacherInputSize, "teacher input size must be positive");
        var scale = BBoxCenterScale.FixAspectRatio(student.Scale, (double)teacherInputSize.Width / teacherInputSize.Height);
        return new CropGeometry(student.Center, scale, student.Rotation, student.Flipped, student.ImageWidth, teacherInputSize);
    }

    /// <summary>
    /// Maps student crop pixels to teacher crop pixels. With a shared centre, rotation and flip this is a uniform
    /// scale about the crop centres: x_t = k (x_s - W_s / 2) + W_t / 2, k = teacher px per student px.
    /// </summary>
    public static AffineMatrix StudentToTeacher(CropGeometry student, CropGeometry teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        return teacher.ImageToCropMatrix * student.CropToImageMatrix;
    }
}
