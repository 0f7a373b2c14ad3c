namespace Distill.Torch.Serialization;

/// <summary>
/// Reads PyTorch <c>.pth</c>/<c>.pt</c> files written by <c>torch.save</c> (zip format, PyTorch 1.6 and later)
/// through <see cref="RestrictedUnpickler"/>: the object tree is rebuilt as data, tensors are read from the archive,
/// and no pickled code is ever run. Tensors are always loaded on the CPU, whatever device they were saved from.
/// </summary>
public static class PthFile
{
    /// <summary>
    /// Loads the whole object tree: dicts as <see cref="PickleDict"/>, lists, tuples (<c>object?[]</c>), strings,
    /// numbers, <see cref="Tensor"/>s, and placeholders (<see cref="PickleGlobal"/>, <see cref="PickleObject"/>) for
    /// anything else. Every tensor is read (as its own contiguous copy: storage sharing between tensors is not
    /// kept; requires_grad is not restored) and belongs to the caller; a tensor referenced twice in the tree is one
    /// object. Release them with <see cref="TensorDisposal.DisposeTensors(object?)"/> or an enclosing dispose scope.
    /// </summary>
    public static object? Load(string path)
    {
        using var archive = PthArchive.Open(path);
        var created = new List<Tensor>();
        try
        {
            return archive.Unpickle(t =>
            {
                var tensor = archive.Materialize(t);
                created.Add(tensor);
                return tensor;
            });
        }
        catch
        {
            foreach (var t in created) t.Dispose();
            throw;
        }
    }
}
