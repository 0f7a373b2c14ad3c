using System.Runtime.CompilerServices;

// The event writer's fault-injection constructor and the software CRC path are exercised directly by the tests.
[assembly: InternalsVisibleTo("Distill.Training.Tests")]
