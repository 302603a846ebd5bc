using Microsoft.CodeAnalysis;

namespace NativeAlign.Generators;

/// <summary>Translates [Kernel] methods to OpenCL C and emits typed descriptors.</summary>
[Generator(LanguageNames.CSharp)]
public sealed class KernelGenerator : IIncrementalGenerator
{
    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
    }
}
