using BenchmarkDotNet.Running;

// Runs the suites chosen on the command line, e.g. `--filter '*Gemm*'`; see perf/README.md.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
