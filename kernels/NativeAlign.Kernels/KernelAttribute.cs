namespace NativeAlign.Kernels;

/// <summary>
/// Marks a static method as a device kernel: the generator translates it to OpenCL C at compile time and emits,
/// in the containing (partial) class, a nested <c>{Method}Kernel</c> struct implementing
/// <see cref="IKernelDescriptor{TSelf}"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class KernelAttribute : Attribute
{
    /// <summary>
    /// Preferred work-group size along dimension 0, or 0 to let the driver choose. The OpenCL runtime rounds the
    /// global size up to a multiple of it, so kernels must bound-check their global id.
    /// </summary>
    public int LocalSizeX { get; set; }

    /// <summary>Preferred work-group size along dimension 1 (0 = 1).</summary>
    public int LocalSizeY { get; set; }

    /// <summary>
    /// Builds the kernel's program with <c>-cl-unsafe-math-optimizations</c>, which lets the device compiler reorder
    /// float sums (and fuse multiply-adds). Without it a compiler must add a dot product's terms in source order, so a
    /// CPU device such as PoCL cannot vectorise the reduction and runs the loop one scalar at a time. Only for kernels
    /// whose error is bounded by their tests rather than by exact summation order (products, not masks or infinities).
    /// </summary>
    public bool UnsafeMathOptimizations { get; set; }
}

/// <summary>
/// Marks an intrinsic stub: a call to the method is translated to the named OpenCL C built-in. The stub's own body is
/// the scalar CPU meaning of the built-in, so the same kernel runs on the CPU as a reference.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class OpenClBuiltinAttribute : Attribute
{
    /// <summary>Creates the mapping to <paramref name="name"/>.</summary>
    public OpenClBuiltinAttribute(string name) => Name = name;

    /// <summary>The OpenCL C function name.</summary>
    public string Name { get; }

    /// <summary>Extra leading argument text (e.g. <c>CLK_LOCAL_MEM_FENCE</c>) when the C# stub takes none.</summary>
    public string? FixedArgument { get; set; }
}

/// <summary>
/// Compiles extra variants of a kernel with one int parameter fixed to each of <see cref="Values"/>, so the device
/// compiler can fold it (unroll loops over a head dimension, size tiles). The generated descriptor's
/// <c>SelectEntryPoint</c> picks the variant for the runtime value and falls back to the generic kernel otherwise.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class SpecializeAttribute : Attribute
{
    /// <summary>Fixes <paramref name="parameter"/> to each of <paramref name="values"/> in its own variant.</summary>
    public SpecializeAttribute(string parameter, params int[] values)
    {
        Parameter = parameter;
        Values = values;
    }

    /// <summary>The name of the kernel's int parameter to fix.</summary>
    public string Parameter { get; }

    /// <summary>The values to compile variants for.</summary>
    public IReadOnlyList<int> Values { get; }
}
