using System.Text.Json.Nodes;
using Distill.Torch.Optim;
using static Distill.Torch.Tests.Optim.OptimTestUtil;

namespace Distill.Torch.Tests.Optim;

public class StateDictTests
{
    private static readonly double[] C1 = [1.0, 3.0, 0.2];
    private static readonly double[] C2 = [0.5, 2.0];

    private delegate Optimizer Factory(Tensor a, Tensor b);

    private static Optimizer MakeAdamW(Tensor a, Tensor b) =>
        new AdamW([new ParamGroup([a]), new AdamParamGroup([b]) { Lr = 0.03, WeightDecay = 0, Amsgrad = true }], lr: 0.01, weightDecay: 0.05);

    private static Optimizer MakeSgd(Tensor a, Tensor b) =>
        new SGD([new ParamGroup([a]), new SgdParamGroup([b]) { Nesterov = true, Dampening = 0 }], lr: 0.05, momentum: 0.9, weightDecay: 1e-3);

    private static void TrainStep(Optimizer opt, Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        opt.ZeroGrad();
        QuadraticGrad(a, C1);
        QuadraticGrad(b, C2);
        opt.Step();
    }

    /// <summary>Round trip as a checkpoint would: metadata through JSON text, tensors through raw bytes.</summary>
    private static OptimizerStateDict ThroughStorage(OptimizerStateDict sd)
    {
        var meta = JsonNode.Parse(sd.Metadata.ToJsonString())!.AsObject();
        var tensors = sd.Tensors.ToDictionary(kv => kv.Key, kv => torch.FromArray(kv.Value.ToArray<double>(), kv.Value.Shape));
        return new OptimizerStateDict(meta, tensors);
    }

    [Theory]
    [InlineData("AdamW")]
    [InlineData("SGD")]
    public void ResumingFromAStateDictContinuesBitForBit(string kind)
    {
        Factory make = kind == "AdamW" ? MakeAdamW : MakeSgd;

        // Five steps straight.
        using var a = Param(0.8, -1.5, 2.5);
        using var b = Param(-0.3, 0.9);
        using var straight = make(a, b);
        for (int i = 0; i < 5; i++) TrainStep(straight, a, b);

        // Three steps, save, a new optimizer over copies of the weights, load, two more steps.
        using var a1 = Param(0.8, -1.5, 2.5);
        using var b1 = Param(-0.3, 0.9);
        using var first = make(a1, b1);
        for (int i = 0; i < 3; i++) TrainStep(first, a1, b1);
        using var saved = first.StateDict();
        using var stored = ThroughStorage(saved);

        using var a2 = Param(Values(a1));
        using var b2 = Param(Values(b1));
        using var resumed = make(a2, b2);
        resumed.ParamGroups[0].Lr = 123; // overwritten by the load
        resumed.LoadStateDict(stored);
        Assert.Equal(first.ParamGroups[0].Lr, resumed.ParamGroups[0].Lr);
        for (int i = 0; i < 2; i++) TrainStep(resumed, a2, b2);

        Assert.Equal(Values(a), Values(a2));
        Assert.Equal(Values(b), Values(b2));
        // And resuming matters: two steps from fresh state land elsewhere.
        using var a3 = Param(Values(a1));
        using var b3 = Param(Values(b1));
        using var fresh = make(a3, b3);
        for (int i = 0; i < 2; i++) TrainStep(fresh, a3, b3);
        Assert.NotEqual(Values(a), Values(a3));
    }

    [Fact]
    public void MetadataNamesGroupsStepsAndHyperParameters()
    {
        using var a = Param(0.8, -1.5, 2.5);
        using var b = Param(-0.3, 0.9);
        using var opt = MakeAdamW(a, b);
        TrainStep(opt, a, b);
        TrainStep(opt, a, b);
        using var sd = opt.StateDict();
        var m = sd.Metadata;
        Assert.Equal("AdamW", m["type"]!.GetValue<string>());
        var g1 = m["param_groups"]![1]!;
        Assert.Equal([1L], g1["params"]!.AsArray().Select(x => x!.GetValue<long>()));
        Assert.Equal(0.03, g1["lr"]!.GetValue<double>());
        Assert.Equal(0.03, g1["initial_lr"]!.GetValue<double>());
        Assert.Equal(0.0, g1["weight_decay"]!.GetValue<double>());
        Assert.True(g1["amsgrad"]!.GetValue<bool>());
        Assert.Equal(0.999, g1["betas"]![1]!.GetValue<double>());
        Assert.Equal(2, m["state"]!["1"]!["step"]!.GetValue<long>());
        Assert.Equal(
            ["state.0.exp_avg", "state.0.exp_avg_sq", "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.max_exp_avg_sq"],
            sd.Tensors.Keys.Order());
        // Index 1 is the first parameter of group 1; it is b, with two elements.
        Assert.Equal([2L], sd.Tensors["state.1.exp_avg"].Shape);
    }

    [Fact]
    public void StateTensorsOutliveTheDisposeScopeOfTheStep()
    {
        using var a = Param(0.8, -1.5, 2.5);
        using var b = Param(-0.3, 0.9);
        using var opt = MakeSgd(a, b);
        using (var scope = torch.NewDisposeScope())
        {
            QuadraticGrad(a, C1);
            QuadraticGrad(b, C2);
            opt.Step();
        }
        TrainStep(opt, a, b);
        using var sd = opt.StateDict();
        Assert.Equal(2, sd.Tensors.Count);
        Assert.All(sd.Tensors.Values, t => Assert.False(t.IsDisposed));
    }

    [Theory]
    [InlineData("AdamW")]
    [InlineData("SGD")]
    public void AStepLeavesNothingForTheScopeToDispose(string kind)
    {
        using var a = Param(0.8, -1.5, 2.5);
        using var b = Param(-0.3, 0.9);
        using var opt = kind == "AdamW" ? MakeAdamW(a, b) : MakeSgd(a, b);
        QuadraticGrad(a, C1);
        QuadraticGrad(b, C2);
        using var scope = torch.NewDisposeScope();
        opt.Step(); // creates the state
        opt.Step();
        Assert.Equal(0, scope.Count);
    }

    [Fact]
    public void LoadingAnotherOptimizersStateFails()
    {
        using var a = Param(0.8, -1.5, 2.5);
        using var b = Param(-0.3, 0.9);
        using var sgd = MakeSgd(a, b);
        TrainStep(sgd, a, b);
        using var sd = sgd.StateDict();
        using var adam = MakeAdamW(a, b);
        var ex = Assert.Throws<InvalidDataException>(() => adam.LoadStateDict(sd));
        Assert.Contains("SGD", ex.Message);
    }

    [Fact]
    public void AStateTensorOfTheWrongShapeIsNamed()
    {
        using var a = Param(0.8, -1.5, 2.5);
        using var b = Param(-0.3, 0.9);
        using var opt = MakeAdamW(a, b);
        TrainStep(opt, a, b);
        using var sd = opt.StateDict();
        var tensors = sd.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        tensors["state.1.exp_avg"].Dispose();
        tensors["state.1.exp_avg"] = torch.Zeros([3], DType.Float64);
        using var bad = new OptimizerStateDict(sd.Metadata, tensors);
        var before = Values(a);
        var ex = Assert.Throws<InvalidDataException>(() => opt.LoadStateDict(bad));
        Assert.Contains("state.1.exp_avg", ex.Message);
        // Nothing changed: the optimizer still steps from its own state.
        TrainStep(opt, a, b);
        Assert.NotEqual(before, Values(a));
    }

    [Fact]
    public void AMissingMomentTensorIsNamed()
    {
        using var a = Param(0.8, -1.5, 2.5);
        using var b = Param(-0.3, 0.9);
        using var opt = MakeAdamW(a, b);
        TrainStep(opt, a, b);
        using var sd = opt.StateDict();
        var tensors = sd.Tensors.Where(kv => kv.Key != "state.0.exp_avg_sq").ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        using var bad = new OptimizerStateDict(sd.Metadata, tensors);
        var ex = Assert.Throws<InvalidDataException>(() => opt.LoadStateDict(bad));
        Assert.Contains("state.0.exp_avg_sq", ex.Message);
    }

    [Fact]
    public void AGroupOfAnotherSizeIsRejected()
    {
        using var a = Param(0.8, -1.5, 2.5);
        using var b = Param(-0.3, 0.9);
        using var opt = MakeAdamW(a, b);
        using var sd = opt.StateDict();
        using var c = Param(1.0);
        using var other = new AdamW([new ParamGroup([a, c]), new ParamGroup([b])]);
        var ex = Assert.Throws<InvalidDataException>(() => other.LoadStateDict(sd));
        Assert.Contains("param_groups[0]", ex.Message);
    }
}
