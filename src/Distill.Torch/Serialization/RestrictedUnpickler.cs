using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Distill.Torch.Serialization;

/// <summary>
/// A pickle reader that interprets data, never code. It implements the opcodes of protocols 2 to 5 that torch.save
/// and Python's pickler emit for checkpoints and builds plain .NET values: <c>null</c>, <see cref="bool"/>,
/// <see cref="long"/> (or <see cref="BigInteger"/> beyond 64 bits), <see cref="double"/>, <see cref="string"/>,
/// <c>byte[]</c>, tuples as <c>object?[]</c>, lists as <see cref="List{T}"/>, dicts as <see cref="PickleDict"/>,
/// torch dtypes as <see cref="DType"/>, and tensors. Globals from modules that can run code (os, subprocess,
/// builtins, ...) are refused with <see cref="UnsafePickleException"/>; any other unknown global becomes an inert
/// <see cref="PickleGlobal"/>, and calling it yields a <see cref="PickleObject"/>. Any other opcode is rejected
/// with its byte position.
/// </summary>
public sealed class RestrictedUnpickler
{
    private const long MaxExpandedBytes = 1L << 30;

    private readonly byte[] _data;
    private readonly string _source;
    private readonly Func<object?[], long, object>? _persistentLoad;
    private readonly Func<StoredTensor, object>? _makeTensor;
    private readonly List<object?> _stack = new();
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();
    private int _pos;
    private int _opPos;

    internal RestrictedUnpickler(byte[] data, string source, Func<object?[], long, object>? persistentLoad,
        Func<StoredTensor, object>? makeTensor)
    {
        _data = data;
        _source = source;
        _persistentLoad = persistentLoad;
        _makeTensor = makeTensor;
    }

    /// <summary>
    /// Reads a self-contained pickle (no persistent ids, so no tensors). <paramref name="source"/> names the data
    /// in error messages.
    /// </summary>
    public static object? Load(byte[] pickle, string source = "<pickle>") =>
        new RestrictedUnpickler(pickle, source, null, null).Run();

    internal object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw Fail("the pickle ends without a STOP opcode (truncated?)");
            _opPos = _pos;
            byte op = _data[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    {
                        int proto = ReadByte();
                        if (proto > 5) throw Fail($"pickle protocol {proto} is newer than 5");
                        break;
                    }
                case 0x95: // FRAME: a length prefix for buffering; the opcodes inside are read as usual.
                    {
                        ulong len = ReadUInt64();
                        if (len > (ulong)(_data.Length - _pos)) throw Fail($"FRAME of {len} bytes runs past the end of the pickle");
                        break;
                    }
                case (byte)'.': // STOP
                    if (_stack.Count == 0) throw Fail("STOP with an empty stack");
                    if (_marks.Count != 0) throw Fail("STOP inside an unclosed MARK");
                    return _stack[^1];

                // ---- constants ------------------------------------------------------------------------------
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': Push((long)ReadByte()); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
                case 0x8b: // LONG4
                    {
                        int n = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
                        if (n < 0) throw Fail($"LONG4 with negative length {n}");
                        Push(ReadLong(n));
                        break;
                    }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                case 0x8c: Push(ReadUtf8(ReadByte())); break; // SHORT_BINUNICODE
                case (byte)'X': Push(ReadUtf8(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // BINUNICODE
                case 0x8d: Push(ReadUtf8(ReadUInt64())); break; // BINUNICODE8
                case (byte)'C': Push(Take(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                case (byte)'B': Push(Take(CheckLength(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))).ToArray()); break;
                case 0x8e: Push(Take(CheckLength(ReadUInt64())).ToArray()); break; // BINBYTES8

                // ---- containers -----------------------------------------------------------------------------
                case (byte)'(': _marks.Push(_stack.Count); break; // MARK
                case (byte)'}': Push(new PickleDict()); break;
                case (byte)']': Push(new List<object?>()); break;
                case (byte)')': Push(Array.Empty<object?>()); break;
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'d': // DICT
                    {
                        var items = PopMark();
                        var d = new PickleDict();
                        SetItems(d, items);
                        Push(d);
                        break;
                    }
                case (byte)'s': // SETITEM
                    {
                        var v = Pop();
                        var k = Pop();
                        SetItems(Peek(), [k, v]);
                        break;
                    }
                case (byte)'u': // SETITEMS
                    {
                        var items = PopMark();
                        SetItems(Peek(), items);
                        break;
                    }
                case (byte)'a': // APPEND
                    {
                        var v = Pop();
                        Append(Peek(), [v]);
                        break;
                    }
                case (byte)'e': // APPENDS
                    {
                        var items = PopMark();
                        Append(Peek(), items);
                        break;
                    }
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopMark(); break; // POP_MARK
                case (byte)'2': Push(Peek()); break; // DUP

                // ---- memo -----------------------------------------------------------------------------------
                case (byte)'q': _memo[ReadByte()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'h': Push(MemoGet(ReadByte())); break; // BINGET
                case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break; // LONG_BINGET

                // ---- objects --------------------------------------------------------------------------------
                case (byte)'c': // GLOBAL
                    {
                        string module = ReadLine();
                        string name = ReadLine();
                        Push(PickleGlobals.Resolve(module, name, _source, _opPos));
                        break;
                    }
                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop();
                        var module = Pop();
                        if (module is not string m || name is not string n)
                            throw Fail("STACK_GLOBAL needs two strings (module and name)");
                        Push(PickleGlobals.Resolve(m, n, _source, _opPos));
                        break;
                    }
                case (byte)'Q': // BINPERSID
                    {
                        var pid = Pop();
                        if (_persistentLoad is null) throw Fail("persistent id in a pickle that has no storage table");
                        if (pid is not object?[] tuple) throw Fail($"persistent id is a {Describe(pid)}, not a tuple");
                        Push(_persistentLoad(tuple, _opPos));
                        break;
                    }
                case (byte)'R': // REDUCE
                    {
                        var args = Pop();
                        var callable = Pop();
                        if (args is not object?[] argTuple) throw Fail($"REDUCE arguments are a {Describe(args)}, not a tuple");
                        Push(Call(callable, argTuple));
                        break;
                    }
                case 0x81: // NEWOBJ: cls.__new__(cls, *args)
                    {
                        var args = Pop();
                        var cls = Pop();
                        if (args is not object?[] argTuple) throw Fail($"NEWOBJ arguments are a {Describe(args)}, not a tuple");
                        Push(New(cls, argTuple));
                        break;
                    }
                case 0x92: // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs)
                    {
                        var kwargs = Pop();
                        var args = Pop();
                        var cls = Pop();
                        if (args is not object?[] argTuple) throw Fail($"NEWOBJ_EX arguments are a {Describe(args)}, not a tuple");
                        var obj = New(cls, kwargs is PickleDict { Count: > 0 } ? [.. argTuple, kwargs] : argTuple);
                        Push(obj);
                        break;
                    }
                case (byte)'b': // BUILD
                    {
                        var state = Pop();
                        Build(Peek(), state);
                        break;
                    }
                default:
                    throw Fail($"unsupported pickle opcode 0x{op:X2}" +
                               (op is >= 0x20 and < 0x7F ? $" ('{(char)op}')" : "") +
                               "; only the data opcodes torch.save writes are accepted");
            }
        }
    }

    // ---- calls: everything is interpreted as data ---------------------------------------------------------------

    private object Call(object? callable, object?[] args)
    {
        switch (callable)
        {
            case PickleGlobal or PickleObject or TorchStorageType:
                return new PickleObject(callable, args);
            case KnownGlobal g:
                return CallKnown(g, args);
            default:
                throw Fail($"REDUCE calls a {Describe(callable)}, which is not callable");
        }
    }

    private object New(object? cls, object?[] args)
    {
        switch (cls)
        {
            case KnownGlobal { Kind: KnownGlobalKind.OrderedDict }:
                return new PickleDict();
            case PickleGlobal or PickleObject or KnownGlobal or TorchStorageType:
                return new PickleObject(cls, args);
            default:
                throw Fail($"NEWOBJ on a {Describe(cls)}, which is not a class");
        }
    }

    private object CallKnown(KnownGlobal g, object?[] args)
    {
        switch (g.Kind)
        {
            case KnownGlobalKind.OrderedDict:
                {
                    var d = new PickleDict();
                    if (args.Length == 1 && args[0] is IEnumerable<object?> pairs and (List<object?> or object?[]))
                    {
                        foreach (var p in pairs)
                        {
                            if (p is not (object?[] or List<object?>) || ((IList<object?>)p).Count != 2)
                                throw Fail("OrderedDict(...) items must be (key, value) pairs");
                            var kv = (IList<object?>)p;
                            d[Key(kv[0])] = kv[1];
                        }
                    }
                    else if (args.Length != 0) return new PickleObject(g, args);
                    return d;
                }
            case KnownGlobalKind.CodecsEncode:
                if (args.Length == 2 && args[0] is string text && args[1] is string enc)
                {
                    if (enc is "latin1" or "latin-1" or "iso-8859-1")
                    {
                        var bytes = new byte[text.Length];
                        for (int i = 0; i < text.Length; i++)
                        {
                            if (text[i] > 0xFF) throw Fail("_codecs.encode(..., 'latin1') of a character above U+00FF");
                            bytes[i] = (byte)text[i];
                        }
                        return bytes;
                    }
                    if (enc is "utf-8" or "utf8") return Encoding.UTF8.GetBytes(text);
                }
                return new PickleObject(g, args);
            case KnownGlobalKind.RebuildTensor:
                // (storage, storage_offset, size, stride)
                return args.Length == 4 ? RebuildTensor(g, args, args[0], null) : throw Fail($"{g} takes 4 arguments, got {args.Length}");
            case KnownGlobalKind.RebuildTensorV2:
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                return args.Length is 6 or 7 ? RebuildTensor(g, args, args[0], null) : throw Fail($"{g} takes 6 or 7 arguments, got {args.Length}");
            case KnownGlobalKind.RebuildTensorV3:
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
                if (args.Length is not (7 or 8)) throw Fail($"{g} takes 7 or 8 arguments, got {args.Length}");
                if (args[6] is not DType dtype) return new PickleObject(g, args);
                return RebuildTensor(g, args, args[0], dtype);
            case KnownGlobalKind.RebuildParameter:
            case KnownGlobalKind.RebuildParameterWithState:
                // (data, requires_grad, backward_hooks[, state]): a Parameter is its data for our purposes.
                if (args.Length < 1) throw Fail($"{g} without arguments");
                return IsTensor(args[0]) ? args[0]! : new PickleObject(g, args);
            case KnownGlobalKind.RebuildFromTypeV2:
                {
                    // (func, new_type, args, state): torch.Tensor and Parameter are plain tensors; subclasses are not.
                    if (args.Length != 4 || args[2] is not object?[] innerArgs) throw Fail($"{g} takes (func, type, args, state)");
                    var inner = Call(args[0], innerArgs);
                    return args[1] is KnownGlobal { Kind: KnownGlobalKind.TensorClass } && IsTensor(inner)
                        ? inner
                        : new PickleObject(g, args);
                }
            default:
                return new PickleObject(g, args);
        }
    }

    private object RebuildTensor(KnownGlobal g, object?[] args, object? storageArg, DType? dtype)
    {
        if (storageArg is not StorageRef storage) return new PickleObject(g, args);
        if (_makeTensor is null) throw Fail("tensor in a pickle that has no storage table");
        if (args[1] is not long offset || offset < 0) throw Fail($"{g}: storage offset is {Describe(args[1])}");
        var shape = LongTuple(args[2], g, "size");
        var strides = LongTuple(args[3], g, "stride");
        if (shape.Length != strides.Length)
            throw Fail($"{g}: size has {shape.Length} dimensions but stride has {strides.Length} (storage '{storage.Key}')");
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] < 0 || strides[i] < 0)
                throw Fail($"{g}: negative size or stride in [{string.Join(", ", shape)}] / [{string.Join(", ", strides)}] (storage '{storage.Key}')");

        if (dtype is { } dt && dt != storage.DType)
        {
            // A typed dtype on untyped bytes: reinterpret the storage as elements of dt.
            if (!storage.Untyped)
                throw Fail($"{g}: tensor dtype {dt} differs from storage '{storage.Key}' of {storage.DType}");
            storage = storage with { DType = dt, NumEl = storage.NumEl / dt.ElementSize(), Untyped = false };
        }

        var t = new StoredTensor(storage, storage.DType, offset, shape, strides);
        long end;
        try
        {
            _ = t.NumEl;
            end = t.EndElement;
        }
        catch (OverflowException)
        {
            throw Fail($"{g}: size [{string.Join(", ", shape)}] overflows (storage '{storage.Key}')");
        }
        if (end > storage.NumEl)
            throw Fail($"{g}: {t} reads elements up to {end} but the storage holds {storage.NumEl}");
        // Zero or overlapping strides let a tiny storage describe a huge view; tensors are read as contiguous copies,
        // so cap how far a view may expand its storage.
        if (t.NumEl > storage.NumEl && (double)t.NumEl * t.DType.ElementSize() > MaxExpandedBytes)
            throw Fail($"{g}: {t} expands {storage.NumEl} stored elements to {t.NumEl}, beyond {MaxExpandedBytes} bytes");
        return _makeTensor(t);
    }

    private long[] LongTuple(object? o, KnownGlobal g, string what)
    {
        if (o is not object?[] tuple) throw Fail($"{g}: {what} is a {Describe(o)}, not a tuple");
        var r = new long[tuple.Length];
        for (int i = 0; i < tuple.Length; i++)
            r[i] = tuple[i] is long v ? v : throw Fail($"{g}: {what}[{i}] is a {Describe(tuple[i])}, not an integer");
        return r;
    }

    private static bool IsTensor(object? o) => o is Tensor or StoredTensor;

    private void Build(object? target, object? state)
    {
        switch (target)
        {
            case PickleObject p:
                p.State = state;
                break;
            case PickleDict d:
                d.Attributes = state;
                break;
            default:
                throw Fail($"BUILD on a {Describe(target)}");
        }
    }

    private void SetItems(object? target, IReadOnlyList<object?> items)
    {
        if (items.Count % 2 != 0) throw Fail("SETITEMS with an odd number of stack items");
        switch (target)
        {
            case PickleDict d:
                for (int i = 0; i < items.Count; i += 2) d[Key(items[i])] = items[i + 1];
                break;
            case PickleObject p:
                for (int i = 0; i < items.Count; i += 2) p.DictItems.Add(new(Key(items[i]), items[i + 1]));
                break;
            default:
                throw Fail($"SETITEM on a {Describe(target)}, which is not a dict");
        }
    }

    private void Append(object? target, IReadOnlyList<object?> items)
    {
        switch (target)
        {
            case List<object?> l:
                l.AddRange(items);
                break;
            case PickleObject p:
                p.ListItems.AddRange(items);
                break;
            default:
                throw Fail($"APPEND on a {Describe(target)}, which is not a list");
        }
    }

    private object Key(object? k) => k switch
    {
        null => PickleDict.NoneKey,
        List<object?> or PickleDict => throw Fail($"a {Describe(k)} cannot be a dict key"),
        _ => k,
    };

    // ---- stack and reading -------------------------------------------------------------------------------------

    private void Push(object? o) => _stack.Add(o);

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks.Peek() == _stack.Count)) throw Fail("stack underflow");
        var o = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return o;
    }

    private object? Peek()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks.Peek() == _stack.Count)) throw Fail("stack underflow");
        return _stack[^1];
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Fail("no MARK to pop to");
        int start = _marks.Pop();
        var items = _stack.GetRange(start, _stack.Count - start);
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private object? MemoGet(long index) =>
        _memo.TryGetValue(index, out var v) ? v : throw Fail($"memo slot {index} was never stored");

    private byte ReadByte()
    {
        if (_pos >= _data.Length) throw Fail("the pickle ends inside an opcode argument (truncated?)");
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> Take(long n)
    {
        if (n < 0 || n > _data.Length - _pos) throw Fail($"an argument of {n} bytes runs past the end of the pickle (truncated?)");
        var s = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return s;
    }

    private ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    private long CheckLength(ulong n) =>
        n > (ulong)(_data.Length - _pos) ? throw Fail($"a length of {n} bytes runs past the end of the pickle (truncated?)") : (long)n;

    private string ReadUtf8(ulong n) => Encoding.UTF8.GetString(Take(CheckLength(n)));

    private object ReadLong(int n)
    {
        var bytes = Take(n);
        if (n <= 8)
        {
            long v = 0;
            for (int i = n - 1; i >= 0; i--) v = (v << 8) | bytes[i];
            if (n is > 0 and < 8 && (bytes[n - 1] & 0x80) != 0) v -= 1L << (8 * n); // sign-extend
            return v;
        }
        var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return big >= long.MinValue && big <= long.MaxValue ? (long)big : big;
    }

    private string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0) throw Fail("GLOBAL name without a newline (truncated?)");
        var s = Encoding.UTF8.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    private CheckpointFormatException Fail(string message) =>
        new(_source, $"pickle byte {_opPos}: {message}");

    internal static string Describe(object? o) => o switch
    {
        null => "None",
        string s => $"string '{(s.Length > 40 ? s[..40] + "..." : s)}'",
        long or BigInteger => $"integer {o}",
        double d => $"float {d}",
        bool b => b ? "True" : "False",
        object?[] t => $"tuple of {t.Length}",
        List<object?> l => $"list of {l.Count}",
        PickleDict d => $"dict of {d.Count}",
        byte[] b => $"bytes of {b.Length}",
        PickleObject p => $"placeholder for {p.Callable}(...)",
        PickleGlobal g => $"placeholder for the global {g.FullName}",
        KnownGlobal g => $"global {g}",
        StoredTensor t => t.ToString(),
        Tensor t => t.ToString(),
        _ => o.GetType().Name,
    };
}
