using System.CommandLine;
using Distill.Cli;

// The distill command: one verb per job. Each verb builds what it needs (the trainer runs on the generic host).
var root = new RootCommand("Distill: train, distil, evaluate and export 2D human-pose networks.");
foreach (var verb in Verbs.All()) root.Subcommands.Add(verb);
try
{
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e)
{
    // One clear message, no stack trace: the message of every exception Distill throws names the file, key or value.
    Console.Error.WriteLine($"distill: {ErrorText.Describe(e)}");
    return 1;
}
