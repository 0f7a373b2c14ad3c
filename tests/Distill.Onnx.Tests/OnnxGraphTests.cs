using Distill.Onnx.Graph;
using Distill.Onnx.Protos;
using Distill.Torch;

namespace Distill.Onnx.Tests;

public sealed class OnnxGraphTests
{
    private const TensorProto.Types.DataType F32 = TensorProto.Types.DataType.Float;

    [Fact]
    public void NamesAreMadeUniqueWithSuffixes()
    {
        var g = new OnnxGraph(17);
        Assert.Equal("a", g.UniqueName("a"));
        Assert.Equal("a_1", g.UniqueName("a"));
        Assert.Equal("a_2", g.UniqueName("a"));
    }

    [Fact]
    public void ConstantsAreSharedByValueAndShape()
    {
        var g = new OnnxGraph(17);
        string half = g.Constant(0.5f);
        Assert.Equal(half, g.Constant(0.5f));
        Assert.NotEqual(half, g.Constant([0.5f], [1]));
        Assert.Equal(g.Int64s(0, 0, -1), g.Int64s(0, 0, -1));
        Assert.NotEqual(g.Int64s(2), g.Int64Scalar(2));
        Assert.Equal(5, g.Initializers.Count); // 0.5, [0.5], [0, 0, -1], [2] and 2
    }

    [Fact]
    public void InitializersHoldLittleEndianFloat32RawData()
    {
        var g = new OnnxGraph(17);
        using var t = torch.FromArray(new double[] { 1.0, -2.0, 0.5 }, [3, 1]);
        string name = g.AddInitializer("w", t);
        var init = g.Initializers.Single(i => i.Name == name);
        Assert.Equal([3L, 1], init.Dims);
        // IEEE 754 single: 1.0 = 0x3F800000, -2.0 = 0xC0000000, 0.5 = 0x3F000000, stored low byte first.
        Assert.Equal(new byte[] { 0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0, 0, 0, 0, 0x3F }, init.RawData.ToByteArray());
    }

    [Fact]
    public void OutputsRenameTheProducerOrCopyAnInput()
    {
        var g = new OnnxGraph(17);
        g.AddInput("x", F32, "batch", 4);
        string y = g.Node("Relu", "act", ["x"]);
        string z = g.Node("Neg", "neg", [y]);
        Assert.Equal("y", g.AddOutput(y, "y", F32, ["batch", 4]));
        Assert.Equal("y", g.Nodes[0].Output.Single());
        Assert.Equal("y", g.Nodes[1].Input.Single()); // the consumer reads the new name
        g.AddOutput("x", "x_copy", F32, null);
        Assert.Equal("Identity", g.Nodes[^1].OpType);
        var proto = g.ToProto();
        Assert.Equal("batch", proto.Output[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(4, proto.Output[0].Type.TensorType.Shape.Dim[1].DimValue);
        Assert.Null(proto.Output[1].Type.TensorType.Shape);
        Assert.NotNull(z);
    }

    [Fact]
    public void NodesMustReadDefinedValues()
    {
        var g = new OnnxGraph(17);
        var e = Assert.Throws<InvalidOperationException>(() => g.Node("Relu", "act", ["nowhere"]));
        Assert.Contains("'nowhere'", e.Message);
        g.AddInput("x", F32, 1);
        Assert.Single(g.Node("Split", "s", ["x", g.Int64s(1)], 1, OnnxAttribute.Int("axis", 0)));
        // An empty name skips an optional input.
        g.Node("Clip", "c", ["x", "", g.Constant(1f)]);
    }
}
