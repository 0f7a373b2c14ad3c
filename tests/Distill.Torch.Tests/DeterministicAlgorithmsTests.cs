namespace Distill.Torch.Tests;

public class DeterministicAlgorithmsTests
{
    [Fact]
    public void TheSettingRoundTripsThroughLibtorch()
    {
        // Process-wide state: whatever the test sets, the default (off) is restored for the tests after it.
        Assert.False(torch.AreDeterministicAlgorithmsEnabled());
        try
        {
            torch.UseDeterministicAlgorithms(true);
            Assert.True(torch.AreDeterministicAlgorithmsEnabled());
            Assert.False(torch.IsDeterministicAlgorithmsWarnOnlyEnabled());

            torch.UseDeterministicAlgorithms(true, warnOnly: true);
            Assert.True(torch.AreDeterministicAlgorithmsEnabled());
            Assert.True(torch.IsDeterministicAlgorithmsWarnOnlyEnabled());

            // Ordinary ops still run in deterministic mode.
            using var a = torch.FromArray(new[] { 1f, 2f, 3f }, [3]);
            using var s = a.Sum();
            Assert.Equal(6f, s.ToArray<float>()[0]);
        }
        finally
        {
            torch.UseDeterministicAlgorithms(false);
        }
        Assert.False(torch.AreDeterministicAlgorithmsEnabled());
        Assert.False(torch.IsDeterministicAlgorithmsWarnOnlyEnabled());
    }
}
