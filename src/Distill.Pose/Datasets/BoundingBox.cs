namespace Distill.Pose.Datasets;

/// <summary>An axis-aligned box in pixels: top-left corner (X, Y), Width and Height (COCO's xywh).</summary>
public readonly record struct BoundingBox(float X, float Y, float Width, float Height)
{
    /// <summary>Right edge, X + Width.</summary>
    public float X2 => X + Width;

    /// <summary>Bottom edge, Y + Height.</summary>
    public float Y2 => Y + Height;

    public float Area => Width * Height;

    public float CenterX => X + Width / 2;

    public float CenterY => Y + Height / 2;

    public bool IsFinite => float.IsFinite(X) && float.IsFinite(Y) && float.IsFinite(Width) && float.IsFinite(Height);

    public static BoundingBox FromCorners(float x1, float y1, float x2, float y2) => new(x1, y1, x2 - x1, y2 - y1);

    public override string ToString() => $"[{X}, {Y}, {Width}, {Height}]";
}
