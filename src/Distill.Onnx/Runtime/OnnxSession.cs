using Distill.Torch;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace Distill.Onnx.Runtime;

/// <summary>How an <see cref="OnnxSession"/> uses the machine.</summary>
public sealed record OnnxSessionOptions
{
    /// <summary>Threads of ONNX Runtime's intra-op pool (its own pool, beside libtorch's OpenMP one).</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>
    /// Let idle intra-op threads spin waiting for work (ONNX Runtime's default). Spinning threads burn cores that
    /// libtorch's pool may want between two runs; off, they sleep at once.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;

    /// <summary>Run on CUDA device <see cref="CudaDevice"/> (needs the GPU build of ONNX Runtime, see the README).</summary>
    public bool UseCuda { get; init; }

    public int CudaDevice { get; init; }
}

/// <summary>
/// An exported pose model in ONNX Runtime, in this process: one float32 input, float32 outputs. Every failure names
/// <see cref="Source"/> (the file, or what an in-memory model was exported from).
/// </summary>
public sealed class OnnxSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _inputName;
    private readonly RunOptions _runOptions = new();

    /// <summary>The file the model came from, or a description of an in-memory one.</summary>
    public string Source { get; }

    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>The model's declared input dimensions; -1 for a symbolic one (the batch axis of a dynamic export).</summary>
    public long[] InputShape { get; }

    /// <summary>The model's metadata_props.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private OnnxSession(InferenceSession session, string source)
    {
        _session = session;
        Source = source;
        if (session.InputNames.Count != 1)
            throw new InvalidDataException($"{source}: the model has {session.InputNames.Count} inputs; a pose model has one image input");
        _inputName = session.InputNames[0];
        var input = session.InputMetadata[_inputName];
        if (input.ElementDataType != TensorElementType.Float)
            throw new InvalidDataException($"{source}: input '{_inputName}' is {input.ElementDataType}, not float32");
        InputShape = input.Dimensions.Select(d => (long)d).ToArray();
        OutputNames = session.OutputNames.ToList();
        foreach (var name in OutputNames)
            if (session.OutputMetadata[name].ElementDataType != TensorElementType.Float)
                throw new InvalidDataException($"{source}: output '{name}' is {session.OutputMetadata[name].ElementDataType}, not float32");
        Metadata = new Dictionary<string, string>(session.ModelMetadata.CustomMetadataMap);
    }

    /// <summary>Loads an .onnx file; a missing, truncated or corrupt file is reported with its path.</summary>
    public static OnnxSession Load(string path, OnnxSessionOptions? options = null)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"{path}: no such ONNX model", full);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{path}: cannot read the ONNX model: {e.Message}", e);
        }
        if (bytes.Length == 0) throw new InvalidDataException($"{path}: the ONNX model file is empty");
        return FromBytes(bytes, path, options);
    }

    /// <summary>Loads a serialised ModelProto; <paramref name="source"/> names it in errors.</summary>
    public static OnnxSession FromBytes(byte[] model, string source, OnnxSessionOptions? options = null)
    {
        options ??= new OnnxSessionOptions();
        if (options.IntraOpThreads < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.IntraOpThreads, "intra-op threads must be at least 1");
        using var so = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        InferenceSession session;
        try
        {
            if (options.UseCuda) so.AppendExecutionProvider_CUDA(options.CudaDevice);
            session = new InferenceSession(model, so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{source}: ONNX Runtime cannot load the model ({OneLine(e.Message)})", e);
        }
        try
        {
            return new OnnxSession(session, source);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The declared shape of output <paramref name="name"/> for a batch of <paramref name="batch"/>; null when a non-batch axis is not fixed.</summary>
    public long[]? OutputShape(string name, long batch)
    {
        var dims = _session.OutputMetadata[name].Dimensions;
        var shape = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (i == 0) shape[i] = batch;
            else if (dims[i] > 0) shape[i] = dims[i];
            else return null;
        }
        return shape;
    }

    /// <summary>Throws, naming the model, when <paramref name="shape"/> does not fit the declared input.</summary>
    public void CheckInput(IReadOnlyList<long> shape)
    {
        bool fits = shape.Count == InputShape.Length;
        for (int i = 0; fits && i < shape.Count; i++) fits = InputShape[i] < 0 ? shape[i] > 0 : shape[i] == InputShape[i];
        if (!fits)
            throw new ArgumentException($"{Source}: an input of shape [{string.Join(", ", shape)}] does not fit the model's input "
                + $"'{_inputName}' [{string.Join(", ", InputShape.Select(d => d < 0 ? "N" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]");
    }

    /// <summary>
    /// Runs the model on a float32 CPU tensor and returns its outputs as libtorch tensors, in <see cref="OutputNames"/>
    /// order. The input's memory goes to ONNX Runtime as it is (one copy when it is not row-major contiguous), and
    /// outputs with fixed shapes are written straight into freshly allocated libtorch tensors.
    /// </summary>
    public Dictionary<string, Tensor> Run(Tensor input)
    {
        if (input.DType != DType.Float32 || input.Device.Type != DeviceType.Cpu)
            throw new ArgumentException($"{Source}: ONNX Runtime takes a float32 CPU tensor, got {input}");
        CheckInput(input.Shape);
        long batch = input.Size(0);
        var outputs = new Dictionary<string, Tensor>();
        var shapes = OutputNames.Select(n => OutputShape(n, batch)).ToList();
        Tensor? contiguous = input.IsContiguous() ? null : input.Contiguous();
        try
        {
            var x = contiguous ?? input;
            using var inValue = Wrap(x);
            if (shapes.All(s => s is not null))
            {
                foreach (var (name, shape) in OutputNames.Zip(shapes)) outputs[name] = torch.Empty(shape!);
                var outValues = OutputNames.Select(n => Wrap(outputs[n])).ToList();
                try
                {
                    Invoke(() => _session.Run(_runOptions, [_inputName], [inValue], OutputNames.ToList(), outValues));
                }
                finally
                {
                    foreach (var v in outValues) v.Dispose();
                }
            }
            else
            {
                // Some output's size is only known after the run: let ONNX Runtime allocate it and copy it over.
                using var results = Invoke(() => _session.Run(_runOptions, [_inputName], [inValue], OutputNames.ToList()));
                for (int i = 0; i < OutputNames.Count; i++)
                {
                    var shape = results[i].GetTensorTypeAndShape().Shape;
                    outputs[OutputNames[i]] = torch.FromSpan<float>(results[i].GetTensorDataAsSpan<float>(), shape);
                }
            }
            return outputs;
        }
        catch
        {
            foreach (var t in outputs.Values) t.Dispose();
            throw;
        }
        finally
        {
            contiguous?.Dispose();
        }
    }

    /// <summary>Runs the model on a float32 array of <paramref name="shape"/>; outputs as arrays with their shapes.</summary>
    public Dictionary<string, (float[] Data, long[] Shape)> Run(float[] input, long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != input.Length)
            throw new ArgumentException($"{Source}: {input.Length} input values for shape [{string.Join(", ", shape)}]");
        CheckInput(shape);
        using var inValue = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var results = Invoke(() => _session.Run(_runOptions, [_inputName], [inValue], OutputNames.ToList()));
        var outputs = new Dictionary<string, (float[], long[])>();
        for (int i = 0; i < OutputNames.Count; i++)
            outputs[OutputNames[i]] = (results[i].GetTensorDataAsSpan<float>().ToArray(), results[i].GetTensorTypeAndShape().Shape);
        return outputs;
    }

    /// <summary>An OrtValue over a contiguous float32 CPU tensor's own memory (no copy); the tensor must outlive it.</summary>
    private static OrtValue Wrap(Tensor t) =>
        OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, t.Shape, t.DataPtr(), t.NBytes);

    private T Invoke<T>(Func<T> run)
    {
        try
        {
            return run();
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException($"{Source}: ONNX Runtime failed to run the model ({OneLine(e.Message)})", e);
        }
    }

    private void Invoke(Action run) => Invoke(() => { run(); return 0; });

    private static string OneLine(string message) => string.Join(" ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}
