using Distill.Pose.Datasets;
using Distill.Training.Distributed;
using Distill.Training.Engine;

namespace Distill.Training.Tests.Distributed;

public class ShardTests
{
    [Fact]
    public void Shards_pad_from_the_start_and_stride_by_world_size_like_DistributedSampler()
    {
        // 7 indices over 2 ranks: padded to 8 by repeating the first, rank r takes positions r, r+2, ...
        int[] order = [10, 11, 12, 13, 14, 15, 16];
        Assert.Equal(new[] { 10, 12, 14, 16 }, DistributedContext.Shard(order, 0, 2));
        Assert.Equal(new[] { 11, 13, 15, 10 }, DistributedContext.Shard(order, 1, 2));
        // More padding than one repeat: 2 indices over 5 ranks cycle through the order.
        Assert.Equal(new[] { 5 }, DistributedContext.Shard([5, 6], 2, 5));
        Assert.Equal(new[] { 6 }, DistributedContext.Shard([5, 6], 3, 5));
        Assert.Same(order, DistributedContext.Shard(order, 0, 1));
    }

    [Theory]
    [InlineData(12, 2)]
    [InlineData(13, 2)]
    [InlineData(17, 3)]
    [InlineData(5, 4)]
    public void Shards_are_equal_in_length_disjoint_apart_from_padding_and_cover_the_epoch(int n, int world)
    {
        var sampler = new RatioEpochSampler([n], [1.0]);
        var order = sampler.Indices(seed: 7, epoch: 3);
        var shards = Enumerable.Range(0, world).Select(r => DistributedContext.Shard(order, r, world)).ToList();
        int perRank = (n + world - 1) / world;
        Assert.All(shards, s => Assert.Equal(perRank, s.Length));
        var all = shards.SelectMany(s => s).ToList();
        Assert.Equal(order.OrderBy(i => i), all.Distinct().OrderBy(i => i));
        // Only the padding repeats, and exactly perRank * world - n of them.
        Assert.Equal(perRank * world - n, all.Count - all.Distinct().Count());
    }

    [Fact]
    public void Sharding_a_combined_epoch_keeps_the_ratio_samplers_quotas()
    {
        // Two sources of 20 and 10 items drawn at ratios 0.5 and 2: 10 + 20 draws per epoch, split over 3 workers.
        var sampler = new RatioEpochSampler([20, 10], [0.5, 2.0]);
        var order = sampler.Indices(seed: 1, epoch: 0);
        var shards = Enumerable.Range(0, 3).Select(r => DistributedContext.Shard(order, r, 3)).ToList();
        var together = shards.SelectMany(s => s).ToList();
        Assert.Equal(30, together.Count); // 30 divides evenly: no padding
        Assert.Equal(sampler.Quota(0), together.Count(i => i < 20));
        Assert.Equal(sampler.Quota(1), together.Count(i => i >= 20));
    }

    [Fact]
    public void Environment_is_read_as_torchrun_writes_it()
    {
        var env = new Dictionary<string, string>
        {
            ["RANK"] = "3", ["WORLD_SIZE"] = "4", ["LOCAL_RANK"] = "1", ["LOCAL_WORLD_SIZE"] = "2",
            ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = "29555", ["TORCHELASTIC_USE_AGENT_STORE"] = "True",
            ["TORCHELASTIC_RESTART_COUNT"] = "2",
        };
        var d = DistributedEnvironment.FromEnvironment(k => env.GetValueOrDefault(k))!;
        Assert.Equal((3, 4, 1, 2, 29555, true), (d.Rank, d.WorldSize, d.LocalRank, d.LocalWorldSize, d.MasterPort, d.AgentStore));
        Assert.Equal("/worker/attempt_2", d.StorePrefix);
        Assert.Null(DistributedEnvironment.FromEnvironment(_ => null));
    }

    [Theory]
    [InlineData("RANK", "4", "RANK=4 is not below WORLD_SIZE=4")]
    [InlineData("RANK", "x", "RANK='x'")]
    [InlineData("MASTER_PORT", "70000", "MASTER_PORT=70000")]
    public void Bad_environment_values_are_named(string key, string value, string expected)
    {
        var env = new Dictionary<string, string> { ["RANK"] = "0", ["WORLD_SIZE"] = "4", [key] = value };
        var e = Assert.Throws<TrainingException>(() => DistributedEnvironment.FromEnvironment(k => env.GetValueOrDefault(k)));
        Assert.Contains(expected, e.Message);
    }
}
