using System.Globalization;
using Distill.Pose.Evaluation;

namespace Distill.Pose.Datasets;

/// <summary>One annotated joint of an official MPII person: MPII joint id (0 r_ankle ... 15 l_wrist), MATLAB 1-based pixels.</summary>
/// <param name="IsVisible">The release's is_visible flag; null where the release leaves it empty.</param>
public sealed record MpiiReleasePoint(int Id, double X, double Y, bool? IsVisible);

/// <summary>
/// One person (an <c>annorect</c>) of an official MPII image. Training people carry the head rectangle, the rough
/// scale (person height / 200 px), the rough position <c>objpos</c> and the joints; test people only scale and objpos.
/// </summary>
/// <param name="Index">1-based position in the image's annorect list (the numbering <c>single_person</c> uses).</param>
/// <param name="HeadBox">(x1, y1, x2, y2) of the head rectangle, or null.</param>
public sealed record MpiiReleasePerson(int Index, double[]? HeadBox, double? Scale, double[]? ObjPos, IReadOnlyList<MpiiReleasePoint> Points);

/// <summary>The activity of an image: category, activity name and id (-1 and empty names when unlabelled).</summary>
public sealed record MpiiReleaseActivity(string Category, string Name, int Id);

/// <summary>One image of the release.</summary>
/// <param name="Index">0-based position in <c>annolist</c>.</param>
/// <param name="IsTrain"><c>img_train</c>: 1 for training images (with joints), 0 for test images.</param>
/// <param name="SinglePerson">1-based annorect indices of the sufficiently separated people (<c>single_person</c>).</param>
public sealed record MpiiReleaseImage(int Index, string Name, bool IsTrain, IReadOnlyList<MpiiReleasePerson> People,
    IReadOnlyList<int> SinglePerson, MpiiReleaseActivity? Activity);

/// <summary>
/// The official MPII Human Pose annotation file (<c>mpii_human_pose_v1_u12_1.mat</c>, MATLAB v5): the struct
/// <c>RELEASE</c> with <c>annolist</c> (per image: <c>image.name</c> and the people in <c>annorect</c>, each with
/// x1, y1, x2, y2, scale, objpos.{x, y} and annopoints.point(:).{id, x, y, is_visible}), <c>img_train</c>,
/// <c>single_person</c> and <c>act</c>. Fields the release leaves empty (<c>[]</c>) read as null or absent.
/// Every problem names the file and the MATLAB path of the value.
/// </summary>
public sealed class MpiiRelease
{
    private MpiiRelease(string source, IReadOnlyList<MpiiReleaseImage> images)
    {
        Source = source;
        Images = images;
    }

    public string Source { get; }

    public IReadOnlyList<MpiiReleaseImage> Images { get; }

    /// <summary>True when <paramref name="path"/> starts like a level-5 MAT-file (so a source can take either layout).</summary>
    public static bool IsMatFile(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[6];
        return stream.ReadAtLeast(head, 6, throwOnEndOfStream: false) == 6 && head.SequenceEqual("MATLAB"u8);
    }

    public static MpiiRelease Load(string path) => FromMatFile(MatFile.Read(path));

    public static MpiiRelease FromMatFile(MatFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        try
        {
            return Parse(file);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            // MatArray's messages name the file and the MATLAB path already.
            throw new FormatException(e.Message, e);
        }
    }

    private static MpiiRelease Parse(MatFile file)
    {
        var release = file["RELEASE"];
        if (!release.IsStruct)
            throw new FormatException($"{file.Source}: 'RELEASE' must be a struct, found {release.Class}");
        var annolist = release.Field("annolist");
        var train = release.Field("img_train");
        int n = (int)annolist.Count;
        if (n > 0 && !annolist.IsStruct)
            throw new FormatException($"{file.Source}: '{annolist.Path}' must be a struct array, found {annolist.Class}");
        if (train.Count != n)
            throw new FormatException($"{file.Source}: '{train.Path}' has {train.Count} entries for {n} images in '{annolist.Path}'");
        var single = release.FieldOrNull("single_person");
        if (single is not null && !single.IsEmpty && single.Count != n)
            throw new FormatException($"{file.Source}: '{single.Path}' has {single.Count} entries for {n} images");
        var act = release.FieldOrNull("act");
        if (act is not null && !act.IsEmpty && act.Count != n)
            throw new FormatException($"{file.Source}: '{act.Path}' has {act.Count} entries for {n} images");

        var images = new MpiiReleaseImage[n];
        for (int i = 0; i < n; i++)
        {
            var image = annolist.Field("image", i);
            string name = image.Field("name").Text;
            var rects = annolist.FieldOrNull("annorect", i);
            var people = new List<MpiiReleasePerson>();
            if (rects is { IsStruct: true })
                for (int r = 0; r < rects.Count; r++) people.Add(Person(rects, r));
            var singles = single is null || single.IsEmpty ? [] : Indices(single.Cells[i]);
            images[i] = new MpiiReleaseImage(i, name, train.Real[i] != 0, people, singles,
                act is null || act.IsEmpty ? null : Activity(act, i));
        }
        return new MpiiRelease(file.Source, images);
    }

    private static MpiiReleasePerson Person(MatArray rects, int r)
    {
        double[]? head = null;
        if (new[] { "x1", "y1", "x2", "y2" }.All(f => Number(rects.FieldOrNull(f, r)) is not null))
            head = [Number(rects.Field("x1", r))!.Value, Number(rects.Field("y1", r))!.Value,
                    Number(rects.Field("x2", r))!.Value, Number(rects.Field("y2", r))!.Value];
        double? scale = Number(rects.FieldOrNull("scale", r));
        double[]? objpos = null;
        if (rects.FieldOrNull("objpos", r) is { IsStruct: true, IsEmpty: false } pos)
            objpos = [Number(pos.Field("x"))!.Value, Number(pos.Field("y"))!.Value];

        var points = new List<MpiiReleasePoint>();
        if (rects.FieldOrNull("annopoints", r) is { IsStruct: true, IsEmpty: false } annopoints
            && annopoints.FieldOrNull("point") is { IsStruct: true } point)
        {
            var seen = new HashSet<int>();
            for (int p = 0; p < point.Count; p++)
            {
                var idArray = point.Field("id", p);
                double id = Number(idArray) ?? throw new FormatException($"{idArray.Source}: '{idArray.Path}' is empty");
                if (id is < 0 or >= 16 || id != Math.Floor(id))
                    throw new FormatException($"{idArray.Source}: '{idArray.Path}' = {id} is not an MPII joint id (0..15)");
                if (!seen.Add((int)id))
                    throw new FormatException($"{idArray.Source}: '{idArray.Path}': joint {id} appears twice in one person");
                var x = point.Field("x", p);
                var y = point.Field("y", p);
                points.Add(new MpiiReleasePoint((int)id,
                    Number(x) ?? throw new FormatException($"{x.Source}: '{x.Path}' is empty"),
                    Number(y) ?? throw new FormatException($"{y.Source}: '{y.Path}' is empty"),
                    Flag(point.FieldOrNull("is_visible", p))));
            }
        }
        return new MpiiReleasePerson(r + 1, head, scale, objpos, points);
    }

    private static MpiiReleaseActivity Activity(MatArray act, int i)
    {
        var id = act.FieldOrNull("act_id", i);
        return new MpiiReleaseActivity(Text(act.FieldOrNull("cat_name", i)), Text(act.FieldOrNull("act_name", i)),
            (int)(Number(id) ?? -1));
    }

    /// <summary>A 1 x 1 numeric value, null for [] (the release's "not given").</summary>
    private static double? Number(MatArray? a)
    {
        if (a is null || a.IsEmpty) return null;
        if (a.Class != MatClass.Char) return a.Scalar();
        return double.TryParse(a.Text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v
            : throw new FormatException($"{a.Source}: '{a.Path}' = '{a.Text}' is not a number");
    }

    /// <summary>is_visible: a number or, in part of the release, the text '0' / '1'; [] reads as null.</summary>
    private static bool? Flag(MatArray? a)
    {
        if (a is null || a.IsEmpty) return null;
        if (a.Class == MatClass.Char)
            return a.Text.Trim() switch
            {
                "1" => true,
                "0" => false,
                var t => throw new FormatException($"{a.Source}: '{a.Path}' = '{t}' is neither 0 nor 1"),
            };
        return a.Scalar() != 0;
    }

    private static string Text(MatArray? a) => a is null || a.IsEmpty || a.Class != MatClass.Char ? "" : a.Text;

    private static IReadOnlyList<int> Indices(MatArray a) =>
        a.IsEmpty ? [] : a.Real.ToArray().Select(v => (int)v).ToArray();
}
