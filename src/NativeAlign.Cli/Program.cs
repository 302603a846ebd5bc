using System.CommandLine;
using NativeAlign.Cli;
using NativeAlign.Cli.Commands;

var root = new RootCommand("NativeAlign: cross-lingual alignment with multilingual transformers, at native speed.")
{
    InfoCommand.Create(),
    TokenizeCommand.Create(),
    KernelsCommand.Create(),
    EmbedCommand.Create(),
    EvalCommand.Create(),
    AlignCommand.Create(),
    MineCommand.Create(),
    SearchCommand.Create(),
    DemoCommand.Create(),
    MapCommand.Create(),
    AnalyzeCommand.Create(),
    BenchCommand.Create(),
    ServeCommand.Create(),
};

return CommandRunner.Invoke(root, args);
