namespace NativeAlign.Kernels;

/// <summary>
/// What the generator emits for each <see cref="KernelAttribute"/> method: a struct holding the kernel's device
/// arguments, whose static members give the OpenCL C source, the entry point, the work-group hints and an argument
/// binder. Backends dispatch through the static abstract members (<c>Run&lt;TKernel&gt;</c> with
/// <c>TKernel : IKernelDescriptor&lt;TKernel&gt;</c>), so no reflection is involved and NativeAOT works.
/// </summary>
/// <typeparam name="TSelf">The generated struct itself.</typeparam>
public interface IKernelDescriptor<TSelf>
    where TSelf : struct, IKernelDescriptor<TSelf>
{
    /// <summary>The name of the <c>__kernel</c> function in <see cref="OpenClSource"/>.</summary>
    static abstract string EntryPoint { get; }

    /// <summary>
    /// The entry point to launch for these argument values: a variant compiled for a <see cref="SpecializeAttribute"/>
    /// value, or <see cref="EntryPoint"/>.
    /// </summary>
    static abstract string SelectEntryPoint(in TSelf kernel);

    /// <summary>The complete OpenCL C program: helper functions, the kernel, then its specialised variants if any.</summary>
    static abstract string OpenClSource { get; }

    /// <summary>The number of kernel arguments <see cref="BindArguments"/> sets.</summary>
    static abstract int ArgumentCount { get; }

    /// <summary>Work-group size preferred by the kernel's author (0 = driver's choice) and whether it uses barriers.</summary>
    static abstract KernelHints Hints { get; }

    /// <summary>Hands each argument of <paramref name="kernel"/> to <paramref name="binder"/> in parameter order.</summary>
    static abstract void BindArguments<TBinder>(in TSelf kernel, ref TBinder binder)
        where TBinder : struct, IKernelArgumentBinder;
}

/// <summary>Receives a kernel's arguments from a generated binder; a backend implements it to set native arguments.</summary>
public interface IKernelArgumentBinder
{
    /// <summary>Argument <paramref name="index"/> is a global-memory buffer.</summary>
    void Buffer<T>(int index, IDeviceBuffer<T> buffer)
        where T : unmanaged;

    /// <summary>Argument <paramref name="index"/> is a scalar passed by value.</summary>
    void Scalar<T>(int index, T value)
        where T : unmanaged;

    /// <summary>Argument <paramref name="index"/> is local memory of <paramref name="length"/> elements of <typeparamref name="T"/>.</summary>
    void Local<T>(int index, int length)
        where T : unmanaged;
}

/// <summary>Launch hints a kernel carries.</summary>
/// <param name="LocalSizeX">Preferred work-group size along dimension 0, or 0 for the driver's choice.</param>
/// <param name="LocalSizeY">Preferred work-group size along dimension 1, or 0.</param>
/// <param name="UsesBarriers">Whether the kernel synchronises its work-group (needs a cooperative CPU emulation).</param>
/// <param name="UnsafeMathOptimizations">Whether the program is built with <c>-cl-unsafe-math-optimizations</c> (see <see cref="KernelAttribute.UnsafeMathOptimizations"/>).</param>
/// <param name="UsesHalfArithmetic">
/// Whether the program computes with <c>half</c> values and so needs a device with the cl_khr_fp16 extension; kernels
/// that only store half in buffers (read and written through vload_half/vstore_half) run anywhere.
/// </param>
public readonly record struct KernelHints(int LocalSizeX, int LocalSizeY, bool UsesBarriers, bool UnsafeMathOptimizations = false, bool UsesHalfArithmetic = false);

/// <summary>An OpenCL NDRange of one to three dimensions.</summary>
public readonly record struct NDRange
{
    /// <summary>A one-dimensional range.</summary>
    public NDRange(int x)
        : this(x, 1, 1, 1)
    {
    }

    /// <summary>A two-dimensional range.</summary>
    public NDRange(int x, int y)
        : this(x, y, 1, 2)
    {
    }

    /// <summary>A three-dimensional range.</summary>
    public NDRange(int x, int y, int z)
        : this(x, y, z, 3)
    {
    }

    private NDRange(int x, int y, int z, int dimensions)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(x);
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfNegative(z);
        X = x;
        Y = y;
        Z = z;
        Dimensions = dimensions;
    }

    /// <summary>Size along dimension 0.</summary>
    public int X { get; }

    /// <summary>Size along dimension 1 (1 when unused).</summary>
    public int Y { get; }

    /// <summary>Size along dimension 2 (1 when unused).</summary>
    public int Z { get; }

    /// <summary>The number of dimensions, 1 to 3.</summary>
    public int Dimensions { get; }

    /// <summary>The number of work-items.</summary>
    public long Count => (long)X * Y * Z;

    /// <summary>The size along <paramref name="dimension"/>.</summary>
    public int this[int dimension] => dimension switch { 0 => X, 1 => Y, 2 => Z, _ => 1 };
}
