using System.Globalization;
using BenchmarkDotNet.Columns;
using Perfolizer.Metrology;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;
using Perfolizer.Horology;

namespace NativeAlign.Benchmarks.Backends.Cpu;

/// <summary>
/// Short, in-process runs (the machine is shared; a GEMM of ~10 GFLOP needs no 15 s of iterations) and a CSV in
/// microseconds without unit suffixes, which perf/gemm_table.py reads.
/// </summary>
public sealed class GemmBenchmarkConfig : ManualConfig
{
    public GemmBenchmarkConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessNoEmitToolchain.Instance)
            .WithWarmupCount(3)
            .WithIterationCount(7)
            .WithIterationTime(TimeInterval.FromMilliseconds(150))
            .WithLaunchCount(1)
            .WithId("short"));
        AddColumn(StatisticColumn.Median, StatisticColumn.Min);
        AddColumn(new GigaflopsColumn());
        var style = new SummaryStyle(CultureInfo.InvariantCulture, printUnitsInHeader: true, SizeUnit.KB, TimeUnit.Microsecond, printUnitsInContent: false);
        AddExporter(new CsvExporter(CsvSeparator.Comma, style));
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}

/// <summary>A benchmark that knows how many floating-point operations one invocation performs.</summary>
public interface IFlopCounted
{
    /// <summary>Floating-point operations of one invocation with the current parameters.</summary>
    double Flops { get; }
}

/// <summary>GFLOP/s at the median time, computed from the benchmark's own flop count.</summary>
public sealed class GigaflopsColumn : IColumn
{
    public string Id => "GFLOPs";

    public string ColumnName => "GFLOP/s (median)";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "2·M·N·K per median time";

    public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        BenchmarkReport? report = summary[benchmarkCase];
        if (report?.ResultStatistics is null)
        {
            return "-";
        }

        var instance = (IFlopCounted)Activator.CreateInstance(benchmarkCase.Descriptor.Type)!;
        foreach (var parameter in benchmarkCase.Parameters.Items)
        {
            benchmarkCase.Descriptor.Type.GetProperty(parameter.Name)?.SetValue(instance, parameter.Value);
            benchmarkCase.Descriptor.Type.GetField(parameter.Name)?.SetValue(instance, parameter.Value);
        }

        return (instance.Flops / report.ResultStatistics.Median).ToString("F1", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => false;
}
