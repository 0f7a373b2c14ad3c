namespace Distill.Pose.Synthetic;

/// <summary>One written image and the figures it shows, as the annotation writers need them.</summary>
internal sealed record RenderedImage(int Index, string FileName, int Width, int Height, List<PersonLabel> Persons);
