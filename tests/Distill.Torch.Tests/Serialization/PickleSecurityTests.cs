using Distill.Torch.Serialization;
using static Distill.Torch.Tests.Serialization.SerializationTestSupport;

namespace Distill.Torch.Tests.Serialization;

/// <summary>
/// Hostile archives from make_test_files.py. Each would run <c>touch /tmp/distill-pickle-executed</c> (or open that
/// file) if a Python unpickler loaded it; the reader must refuse the global and run nothing.
/// </summary>
public class PickleSecurityTests
{
    private const string Marker = "/tmp/distill-pickle-executed";

    [Theory]
    [InlineData("evil_os_system.pth", "os", "system")] // hidden in the 'meta' section
    [InlineData("evil_posix_system.pth", "posix", "system")] // what Python's own pickler writes for os.system
    [InlineData("evil_builtins_eval.pth", "builtins", "eval")]
    [InlineData("evil_subprocess_popen.pth", "subprocess", "Popen")] // a state-dict value
    [InlineData("evil_stack_global_getattr.pth", "builtins", "getattr")] // protocol 4 STACK_GLOBAL
    public void RefusesCodeRunningGlobalsAndRunsNothing(string file, string module, string name)
    {
        File.Delete(Marker);
        string path = TestFile(file);

        var ex = Assert.Throws<UnsafePickleException>(() => PthFile.Load(path));
        Assert.Equal(module, ex.Module);
        Assert.Equal(name, ex.Name);
        Assert.Contains($"'{module}.{name}'", ex.Message);
        Assert.Contains(path, ex.Message);

        // The state-dict loader reads the same pickle and must refuse it too, not turn it into a placeholder.
        Assert.Throws<UnsafePickleException>(() => StateDictLoader.LoadStateDict(path));
        Assert.False(File.Exists(Marker));
    }

    [Theory]
    [InlineData("__builtin__", "eval")] // protocol-2 spelling of builtins
    [InlineData("builtins", "set")] // any builtins global, harmless or not
    [InlineData("os.path", "join")]
    [InlineData("importlib.util", "spec_from_file_location")]
    [InlineData("runpy", "run_path")]
    [InlineData("shutil", "rmtree")]
    [InlineData("socket", "socket")]
    [InlineData("sys", "modules")]
    [InlineData("nt", "system")]
    public void RefusedModulesIncludeSubmodulesAndProtocol2Names(string module, string name)
    {
        // PROTO 2, GLOBAL 'module name', EMPTY_TUPLE, REDUCE, STOP
        var pickle = Latin1($"\u0080\u0002c{module}\n{name}\n)R.");
        var ex = Assert.Throws<UnsafePickleException>(() => RestrictedUnpickler.Load(pickle, "hand.pkl"));
        Assert.Equal(module, ex.Module);
        Assert.Equal(2, ex.Position); // the GLOBAL opcode follows the 2-byte PROTO
    }

    [Fact]
    public void UnknownGlobalsElsewhereStayInert()
    {
        // GLOBAL 'mmengine.logging.message_hub MessageHub', EMPTY_TUPLE, REDUCE, STOP
        var pickle = Latin1("\u0080\u0002cmmengine.logging.message_hub\nMessageHub\n)R.");
        var obj = Assert.IsType<PickleObject>(RestrictedUnpickler.Load(pickle));
        Assert.Equal("mmengine.logging.message_hub.MessageHub", Assert.IsType<PickleGlobal>(obj.Callable).FullName);
        Assert.Empty(obj.Arguments);
    }
}
