namespace Distill.Pose.Synthetic;

/// <summary>
/// One posed, styled person seen by an orthographic camera: model-space joints rotated into camera space
/// (x right, y up, z towards the viewer), then scaled and shifted into pixels (y down).
/// </summary>
internal sealed class Figure
{
    public required BodyPose Pose { get; init; }
    public required FigureStyle Style { get; init; }
    public required Kinematics.Result Model { get; init; }
    /// <summary>Model space to camera space.</summary>
    public required Mat3 Camera { get; init; }
    /// <summary>Camera-space joints at unit scale.</summary>
    public required Vec3[] Cam { get; init; }

    public double Scale { get; private set; } = 1;
    public double OffsetX { get; private set; }
    public double OffsetY { get; private set; }

    public static Figure Sample(SynthRandom rng)
    {
        var pose = PoseSampler.Sample(rng);
        var style = FigureStyle.Sample(rng);
        var model = Kinematics.Solve(pose, style.HeadScale);
        // Any heading; a mild tilt towards or away from the camera; mostly upright in the image, sometimes tilted
        // or upside down (falls, acrobatics) so that the image's vertical is not a shortcut.
        double yaw = rng.Uniform(0, 360);
        double pitch = Math.Clamp(rng.Normal(0, 10), -30, 30);
        double roll = rng.NextDouble() switch
        {
            < 0.62 => rng.Normal(0, 12),
            < 0.86 => rng.Uniform(-70, 70),
            _ => rng.Uniform(-180, 180),
        };
        var camera = Mat3.RotZ(roll) * Mat3.RotX(pitch) * Mat3.RotY(yaw);
        var cam = model.Joints.Select(p => camera * p).ToArray();
        return new Figure { Pose = pose, Style = style, Model = model, Camera = camera, Cam = cam };
    }

    /// <summary>The silhouette's extent at unit scale and zero offset, in image orientation (y down).</summary>
    public (double MinX, double MinY, double MaxX, double MaxY) UnitBounds()
    {
        double minX = double.MaxValue, minY = double.MaxValue, maxX = double.MinValue, maxY = double.MinValue;
        foreach (var p in Cam)
        {
            minX = Math.Min(minX, p.X);
            maxX = Math.Max(maxX, p.X);
            minY = Math.Min(minY, -p.Y);
            maxY = Math.Max(maxY, -p.Y);
        }
        const double margin = 0.05; // limb half-thickness and hair
        return (minX - margin, minY - margin, maxX + margin, maxY + margin);
    }

    public void Place(double scale, double offsetX, double offsetY)
    {
        Scale = scale;
        OffsetX = offsetX;
        OffsetY = offsetY;
    }

    public (double X, double Y) Px(BodyJoint j) => Px(Cam[(int)j]);

    public (double X, double Y) Px(Vec3 camPoint) => (OffsetX + Scale * camPoint.X, OffsetY - Scale * camPoint.Y);

    /// <summary>Camera-space depth (larger is nearer the viewer).</summary>
    public double Depth(BodyJoint j) => Cam[(int)j].Z;

    /// <summary>A model-space point to pixels.</summary>
    public (double X, double Y) ProjectModel(Vec3 modelPoint) => Px(Camera * modelPoint);

    /// <summary>A head-frame direction in camera space.</summary>
    public Vec3 HeadAxis(Vec3 headDir) => Camera * (Model.Head * headDir);

    /// <summary>The head's outline as an image ellipse: centre, semi-axes (across, along the head's up) and the
    /// OpenCV rotation angle in degrees.</summary>
    public (double X, double Y, double Across, double Along, double AngleDeg) HeadEllipse()
    {
        var r = BodyModel.HeadRadii * Style.HeadScale;
        var up = HeadAxis(Vec3.Up);
        var side = HeadAxis(new Vec3(1, 0, 0));
        // An ellipsoid seen from an angle: the visible half-extent blends the radii that face the viewer.
        double across = Math.Sqrt(r.X * r.X * (1 - side.Z * side.Z) + r.Z * r.Z * side.Z * side.Z) * Scale;
        double along = Math.Sqrt(r.Y * r.Y * (1 - up.Z * up.Z) + r.Z * r.Z * up.Z * up.Z) * Scale;
        double angle = Math.Atan2(-up.Y, up.X) * 180 / Math.PI + 90;
        var c = Px(BodyJoint.HeadCentre);
        return (c.X, c.Y, across, along, angle);
    }

    /// <summary>
    /// The hair as an image ellipse. Facing the viewer it sits behind the face and shows above it; turned away it
    /// covers the back of the head.
    /// </summary>
    public (double X, double Y, double Across, double Along, double AngleDeg) HairEllipse()
    {
        var (_, _, across, along, angle) = HeadEllipse();
        var r = BodyModel.HeadRadii * Style.HeadScale;
        var centre = Cam[(int)BodyJoint.HeadCentre];
        if (Facing > FaceForwardLimit)
        {
            var (x, y) = Px(centre + HeadAxis(new Vec3(0, 0.1 * r.Y, -0.3 * r.Z)));
            return (x, y, across * 1.04, along * 1.04, angle);
        }
        var (bx, by) = Px(centre + HeadAxis(new Vec3(0, 0.12 * r.Y, -0.35 * r.Z)));
        return (bx, by, across * 0.97, along * 0.93, angle);
    }

    /// <summary>Above this <see cref="Facing"/> the face is drawn over the hair, below it the hair over the head.</summary>
    public const double FaceForwardLimit = 0.25;

    /// <summary>How much the face turns towards the viewer: 1 facing, -1 turned away.</summary>
    public double Facing => HeadAxis(Vec3.Forward).Z;
}
