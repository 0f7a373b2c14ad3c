using System.Collections.Concurrent;
using Distill.Pose.Models.Backbones;
using Distill.Pose.Models.Heads;
using Distill.Pose.Models.Layers;
using Distill.Torch.Nn;

namespace Distill.Onnx.Emitters;

/// <summary>
/// The registry from module type to emitter. Supporting a new module type takes one emitter and one
/// <see cref="Register"/> call; a model holding any module without one is refused before anything is written.
/// </summary>
public static class OnnxEmitters
{
    private static readonly ConcurrentDictionary<Type, IModuleEmitter> Emitters = new();

    static OnnxEmitters()
    {
        // Layers of Distill.Torch.Nn.
        Register(new SequentialEmitter());
        Register(new ModuleListEmitter());
        Register(new Conv2dEmitter());
        Register(new ConvTranspose2dEmitter());
        Register(new BatchNorm2dEmitter());
        Register(new DelegateEmitter<Linear>((c, m, p, x) => c.Linear(m, p, x)));
        Register(new DelegateEmitter<LayerNorm>((c, m, p, x) => c.LayerNorm(m, p, x), LayerNormCheck));
        Register(new DelegateEmitter<MaxPool2d>((c, m, p, x) => c.MaxPool(x, m.KernelSize, m.Stride, m.Padding, p)));
        Register(new DelegateEmitter<ReLU>((c, _, p, x) => c.Graph.Node("Relu", p, [x])));
        Register(new DelegateEmitter<SiLU>((c, _, p, x) => c.Silu(x, p)));
        Register(new DelegateEmitter<Sigmoid>((c, _, p, x) => c.Graph.Node("Sigmoid", p, [x])));
        Register(new DelegateEmitter<GELU>((c, m, p, x) => m.TanhApproximation ? c.GeluTanh(x, p) : c.Gelu(x, p)));
        Register(new DelegateEmitter<Hardsigmoid>((c, _, p, x) => c.HardSigmoid(x, p)));
        Register(new DelegateEmitter<Identity>((_, _, _, x) => x));
        Register(new DelegateEmitter<Dropout>((_, _, _, x) => x));
        Register(new DelegateEmitter<DropPath>((_, _, _, x) => x));
        // Shared pose layers.
        Register(new ConvModuleEmitter());
        Register(new DelegateEmitter<DepthwiseSeparableConvModule>((c, m, p, x) =>
            c.EmitUnary(m.PointwiseConv, p + ".pointwise_conv", c.EmitUnary(m.DepthwiseConv, p + ".depthwise_conv", x))));
        Register(new DelegateEmitter<ScaleNorm>((c, m, p, x) => c.ScaleNorm(m, p, x)));
        Register(new DelegateEmitter<ChannelScale>((c, m, p, x) => c.Graph.Node("Mul", p, [x, c.Graph.AddInitializer(p + ".scale", m.ScaleParam)])));
        Register(new ChannelAttentionEmitter());
        // CSPNeXt.
        Register(new CSPNeXtEmitter());
        Register(new CSPLayerEmitter());
        Register(new CSPNeXtBlockEmitter());
        Register(new SPPBottleneckEmitter());
        // Vision transformer.
        Register(new VisionTransformerEmitter());
        Register(new DelegateEmitter<PatchEmbed>((c, m, p, x) => c.EmitUnary(m.Projection, p + ".projection", x)));
        Register(new TransformerEncoderLayerEmitter());
        Register(new MultiheadAttentionEmitter());
        Register(new FFNEmitter());
        // HRFormer: the backbone emitter writes the size-dependent parts itself.
        Register(new HRFormerEmitter());
        Register(new BottleneckEmitter());
        Register(new CrossFFNEmitter());
        foreach (var t in new[] { typeof(HRFormerModule), typeof(FuseLayer), typeof(HRFormerBlock), typeof(LocalWindowSelfAttention), typeof(WindowMSA), typeof(OptionalModuleList<>) })
            Register(new WrittenByHRFormerEmitter(t));
        // Heads.
        Register(new RTMCCHeadEmitter());
        Register(new RTMCCBlockEmitter());
        Register(new HeatmapHeadEmitter());
        Register(new RegressionHeadEmitter());
    }

    /// <summary>Adds or replaces the emitter for <see cref="IModuleEmitter.ModuleType"/>.</summary>
    public static void Register(IModuleEmitter emitter)
    {
        ArgumentNullException.ThrowIfNull(emitter);
        Emitters[emitter.ModuleType] = emitter;
    }

    /// <summary>The emitter for exactly this type (or its generic type definition), or null.</summary>
    public static IModuleEmitter? Find(Type moduleType)
    {
        if (Emitters.TryGetValue(moduleType, out var e)) return e;
        if (moduleType.IsGenericType && Emitters.TryGetValue(moduleType.GetGenericTypeDefinition(), out e)) return e;
        return null;
    }

    /// <summary>Names of the module types that can be exported.</summary>
    public static IReadOnlyList<string> SupportedTypes =>
        Emitters.Keys.Select(TypeName).Order(StringComparer.Ordinal).ToList();

    internal static string TypeName(Type t) =>
        t.IsGenericType ? t.Name[..t.Name.IndexOf('`')] + "<" + string.Join(", ", t.GetGenericArguments().Select(a => a.IsGenericParameter ? "" : TypeName(a))) + ">" : t.Name;

    private static string? LayerNormCheck(LayerNorm m, OnnxExportOptions _) =>
        m.NormalizedShape.Length == 1 ? null : $"LayerNorm over {m.NormalizedShape.Length} trailing axes (only the last axis is supported)";
}
