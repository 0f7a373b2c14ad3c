using System.CommandLine;
using Distill.Cli;

// The distill command: one verb per job. Each verb builds what it needs (the trainer runs on the generic host).
var root = new RootCommand("Distill: train, distil, evaluate and export 2D human-pose networks.");
foreach (var verb in Verbs.All()) root.Subcommands.Add(verb);
return await root.Parse(args).InvokeAsync();
