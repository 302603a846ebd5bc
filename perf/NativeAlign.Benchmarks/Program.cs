using BenchmarkDotNet.Running;
using NativeAlign.Benchmarks;

// Runs the suites chosen on the command line, e.g. `--filter '*Gemm*'`; see perf/README.md.
// `dump-e2e <dir>` instead writes the end-to-end inputs and our f32 outputs for the peers (perf/run-all.sh).
if (args is ["dump-e2e", var directory])
{
    EndToEndData.Dump(directory);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
