// Every test starts processes that train or infer; run them one at a time on the machine's few cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
