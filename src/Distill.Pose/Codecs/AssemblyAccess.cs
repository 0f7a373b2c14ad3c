using System.Runtime.CompilerServices;

// The codec tests check internal numerics (numpy-compatible exp/log) against recorded reference values.
[assembly: InternalsVisibleTo("Distill.Pose.Tests")]
