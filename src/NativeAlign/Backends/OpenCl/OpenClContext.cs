using System.Text;
using NativeAlign.Kernels;

namespace NativeAlign.Backends.OpenCl;

/// <summary>
/// One OpenCL device with its context and in-order command queue: allocates buffers, builds programs (through the
/// on-disk <see cref="OpenClProgramCache"/>) and runs generated kernel descriptors. Calls are serialised by a lock,
/// so one context may be shared by threads; kernels run in the order they are enqueued.
/// </summary>
public sealed unsafe class OpenClContext : IDisposable
{
    /// <summary>Options every program is built with: OpenCL C 1.2 (the oldest devices we target), no fast math.</summary>
    public const string BuildOptions = "-cl-std=CL1.2";

    /// <summary>
    /// Options for the programs of kernels marked <see cref="KernelAttribute.UnsafeMathOptimizations"/>: reordered float
    /// sums, so that a CPU device's compiler vectorises their dot products.
    /// </summary>
    public const string UnsafeMathBuildOptions = BuildOptions + " -cl-unsafe-math-optimizations";

    /// <summary>The extension OpenCL C needs for half arithmetic (half storage through vload_half/vstore_half needs none).</summary>
    public const string HalfExtension = "cl_khr_fp16";

    private readonly OpenClContextHandle _context;
    private readonly OpenClQueueHandle _queue;
    private readonly Dictionary<(Type Kernel, string EntryPoint), OpenClKernelHandle> _kernels = [];
    private readonly Dictionary<Type, OpenClProgramHandle> _programs = [];
    private readonly Lock _gate = new();
    private bool _disposed;

    private OpenClContext(OpenClDeviceInfo device, OpenClProgramCache cache, OpenClContextHandle context, OpenClQueueHandle queue)
    {
        Device = device;
        ProgramCache = cache;
        _context = context;
        _queue = queue;
    }

    /// <summary>The device this context runs on.</summary>
    public OpenClDeviceInfo Device { get; }

    /// <summary>The program binary cache in use.</summary>
    public OpenClProgramCache ProgramCache { get; }

    internal nint ContextHandle => _context.Value;

    internal nint QueueHandle => _queue.Value;

    /// <summary>
    /// Opens device <paramref name="deviceIndex"/> of <see cref="OpenClDevices.Discover"/> (the numbering
    /// <c>nativealign info</c> shows), with the program cache the environment asks for.
    /// </summary>
    /// <exception cref="BackendException">No OpenCL device, an index out of range, or a driver failure.</exception>
    public static OpenClContext Create(int deviceIndex = 0) => Create(deviceIndex, OpenClProgramCache.FromEnvironment());

    /// <summary>Opens device <paramref name="deviceIndex"/> with an explicit program cache.</summary>
    /// <exception cref="BackendException">No OpenCL device, an index out of range, or a driver failure.</exception>
    public static OpenClContext Create(int deviceIndex, OpenClProgramCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var discovery = OpenClDevices.Discover();
        if (discovery.Devices.Count == 0)
        {
            throw new BackendException($"no OpenCL device: {discovery.Problem}");
        }

        if (deviceIndex < 0 || deviceIndex >= discovery.Devices.Count)
        {
            throw new BackendException($"OpenCL device {deviceIndex} does not exist; devices 0..{discovery.Devices.Count - 1} are available (see 'nativealign info')");
        }

        var device = discovery.Devices[deviceIndex];
        nint deviceId = device.Handle;
        nint* properties = stackalloc nint[] { OpenClNative.ContextPlatform, device.PlatformHandle, 0 };
        int status;
        nint context = OpenClNative.CreateContext(properties, 1, &deviceId, 0, 0, &status);
        OpenClNative.Check(status, "clCreateContext");
        var contextHandle = new OpenClContextHandle(context);
        nint queue = OpenClNative.CreateCommandQueue(context, deviceId, 0, &status);
        if (status != OpenClNative.Success)
        {
            contextHandle.Dispose();
            OpenClNative.Check(status, "clCreateCommandQueue");
        }

        return new OpenClContext(device, cache, contextHandle, new OpenClQueueHandle(queue));
    }

    /// <summary>Allocates an uninitialised buffer of <paramref name="length"/> elements.</summary>
    public OpenClBuffer<T> Allocate<T>(int length)
        where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            return new OpenClBuffer<T>(this, length);
        }
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="data"/>.</summary>
    public OpenClBuffer<T> Upload<T>(ReadOnlySpan<T> data)
        where T : unmanaged
    {
        var buffer = Allocate<T>(data.Length);
        buffer.Write(data);
        return buffer;
    }

    /// <summary>
    /// Enqueues <paramref name="kernel"/> over <paramref name="global"/> work-items, in work-groups of the kernel's
    /// preferred size (<see cref="KernelHints"/>) when it has one. The global size is then rounded up to a multiple of
    /// the work-group size (OpenCL 1.2 requires it), so kernels bound-check their ids. An empty range runs nothing.
    /// </summary>
    /// <exception cref="BackendException">
    /// The kernel computes with half and the device lacks <see cref="HalfExtension"/>, the program failed to build
    /// (the message holds the build log), or the launch failed.
    /// </exception>
    public void Run<TKernel>(in TKernel kernel, NDRange global)
        where TKernel : struct, IKernelDescriptor<TKernel>
    {
        var hints = TKernel.Hints;
        NDRange? local = hints.LocalSizeX <= 0 ? null
            : global.Dimensions == 1 ? new NDRange(hints.LocalSizeX)
            : global.Dimensions == 2 ? new NDRange(hints.LocalSizeX, Math.Max(1, hints.LocalSizeY))
            : new NDRange(hints.LocalSizeX, Math.Max(1, hints.LocalSizeY), 1);

        // A hint larger than the device allows is dropped (the driver picks) unless the kernel's barriers depend on it.
        if (local is { } l && l.Count > Device.MaxWorkGroupSize && !hints.UsesBarriers)
        {
            local = null;
        }

        Enqueue(kernel, global, local);
    }

    /// <summary>Enqueues <paramref name="kernel"/> with an explicit work-group size; see <see cref="Run{TKernel}(in TKernel, NDRange)"/>.</summary>
    public void Run<TKernel>(in TKernel kernel, NDRange global, NDRange local)
        where TKernel : struct, IKernelDescriptor<TKernel> => Enqueue(kernel, global, local);

    /// <summary>Waits until every enqueued command has completed.</summary>
    public void Finish()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        OpenClNative.Check(OpenClNative.Finish(_queue.Value), "clFinish");
    }

    /// <summary>Builds <paramref name="source"/> for this device, from the binary cache when it has an entry.</summary>
    /// <exception cref="BackendException">The build failed; the message holds the driver's build log.</exception>
    internal OpenClProgramHandle BuildProgram(string source, string options, string what)
    {
        string key = OpenClProgramCache.Key(source, options, Device);
        if (ProgramCache.TryLoad(key) is { } binary)
        {
            if (TryBuildFromBinary(binary, options) is { } cached)
            {
                ProgramCache.CountHit();
                return cached;
            }

            ProgramCache.Forget(key);
        }

        ProgramCache.CountMiss();
        var program = BuildFromSource(source, options, what);
        if (ProgramCache.Directory is not null)
        {
            ProgramCache.Store(key, ProgramBinary(program));
        }

        return program;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var kernel in _kernels.Values)
            {
                kernel.Dispose();
            }

            foreach (var program in _programs.Values)
            {
                program.Dispose();
            }

            _queue.Dispose();
            _context.Dispose();
        }
    }

    private void Enqueue<TKernel>(in TKernel kernel, NDRange global, NDRange? local)
        where TKernel : struct, IKernelDescriptor<TKernel>
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (local is { } l && l.Dimensions != global.Dimensions)
        {
            throw new ArgumentException($"the work-group has {l.Dimensions} dimensions but the range has {global.Dimensions}", nameof(local));
        }

        if (global.Count == 0)
        {
            return; // OpenCL 1.2 rejects empty ranges; nothing to do is not an error here.
        }

        lock (_gate)
        {
            string entryPoint = TKernel.SelectEntryPoint(kernel);
            var handle = KernelFor<TKernel>(entryPoint);
            var binder = new ArgumentBinder(this, handle.Value, entryPoint);
            TKernel.BindArguments(kernel, ref binder);

            nuint* globalSize = stackalloc nuint[3];
            nuint* localSize = stackalloc nuint[3];
            for (int d = 0; d < global.Dimensions; d++)
            {
                long size = global[d];
                if (local is { } group)
                {
                    long g = Math.Max(1, group[d]);
                    size = (size + g - 1) / g * g;
                    localSize[d] = (nuint)g;
                }

                globalSize[d] = (nuint)size;
            }

            OpenClNative.Check(
                OpenClNative.EnqueueNDRangeKernel(_queue.Value, handle.Value, (uint)global.Dimensions, null, globalSize, local is null ? null : localSize, 0, null, null),
                $"clEnqueueNDRangeKernel({entryPoint}, global {global.X}x{global.Y}x{global.Z}{(local is { } lo ? $", local {lo.X}x{lo.Y}x{lo.Z}" : string.Empty)})");
        }
    }

    private OpenClKernelHandle KernelFor<TKernel>(string entryPoint)
        where TKernel : struct, IKernelDescriptor<TKernel>
    {
        // One program per descriptor type (its variants share it) and one cl_kernel per entry point, per context.
        if (_kernels.TryGetValue((typeof(TKernel), entryPoint), out var existing))
        {
            return existing;
        }

        if (!_programs.TryGetValue(typeof(TKernel), out var program))
        {
            // Said plainly here rather than left to the driver's build log ("half is not supported").
            if (TKernel.Hints.UsesHalfArithmetic && !Device.HasExtension(HalfExtension))
            {
                throw new BackendException(
                    $"kernel '{TKernel.EntryPoint}' computes with half values and needs {HalfExtension}, which OpenCL device {Device.Index} '{Device.Name}' ({Device.Platform}) does not report; keep half in buffers only (read as float, store with a (Half) conversion) to run it on this device");
            }

            program = BuildProgram(TKernel.OpenClSource, TKernel.Hints.UnsafeMathOptimizations ? UnsafeMathBuildOptions : BuildOptions, TKernel.EntryPoint);
            _programs.Add(typeof(TKernel), program);
        }

        byte[] name = Encoding.UTF8.GetBytes(entryPoint + "\0");
        int status;
        nint kernel;
        fixed (byte* n = name)
        {
            kernel = OpenClNative.CreateKernel(program.Value, n, &status);
        }

        OpenClNative.Check(status, $"clCreateKernel({entryPoint})");
        var handle = new OpenClKernelHandle(kernel);
        _kernels.Add((typeof(TKernel), entryPoint), handle);
        return handle;
    }

    private OpenClProgramHandle? TryBuildFromBinary(byte[] binary, string options)
    {
        nint deviceId = Device.Handle;
        nuint length = (nuint)binary.Length;
        int binaryStatus, status;
        nint program;
        fixed (byte* b = binary)
        {
            byte* pointer = b;
            program = OpenClNative.CreateProgramWithBinary(_context.Value, 1, &deviceId, &length, &pointer, &binaryStatus, &status);
        }

        if (status != OpenClNative.Success || binaryStatus != OpenClNative.Success)
        {
            if (program != 0)
            {
                OpenClNative.ReleaseProgram(program);
            }

            return null;
        }

        var handle = new OpenClProgramHandle(program);
        if (Build(handle, options) != OpenClNative.Success)
        {
            handle.Dispose();
            return null;
        }

        return handle;
    }

    private OpenClProgramHandle BuildFromSource(string source, string options, string what)
    {
        byte[] text = Encoding.UTF8.GetBytes(source);
        nuint length = (nuint)text.Length;
        int status;
        nint program;
        fixed (byte* t = text)
        {
            byte* pointer = t;
            program = OpenClNative.CreateProgramWithSource(_context.Value, 1, &pointer, &length, &status);
        }

        OpenClNative.Check(status, "clCreateProgramWithSource");
        var handle = new OpenClProgramHandle(program);
        int build = Build(handle, options);
        if (build != OpenClNative.Success)
        {
            string log = BuildLog(handle);
            handle.Dispose();
            throw new BackendException(
                $"OpenCL build of '{what}' failed on {Device.Name} with error {build} ({OpenClNative.ErrorName(build)}), options '{options}'; build log:\n{log}");
        }

        return handle;
    }

    private int Build(OpenClProgramHandle program, string options)
    {
        nint deviceId = Device.Handle;
        byte[] text = Encoding.UTF8.GetBytes(options + "\0");
        fixed (byte* o = text)
        {
            return OpenClNative.BuildProgram(program.Value, 1, &deviceId, o, 0, 0);
        }
    }

    private string BuildLog(OpenClProgramHandle program)
    {
        nuint size;
        if (OpenClNative.GetProgramBuildInfo(program.Value, Device.Handle, OpenClNative.ProgramBuildLog, 0, null, &size) != OpenClNative.Success || size == 0)
        {
            return "(the driver gave no build log)";
        }

        var log = new byte[(int)Math.Min((ulong)size, 1 << 20)];
        fixed (byte* l = log)
        {
            if (OpenClNative.GetProgramBuildInfo(program.Value, Device.Handle, OpenClNative.ProgramBuildLog, (nuint)log.Length, l, null) != OpenClNative.Success)
            {
                return "(the build log could not be read)";
            }
        }

        return Encoding.UTF8.GetString(log).TrimEnd('\0').Trim();
    }

    private static byte[] ProgramBinary(OpenClProgramHandle program)
    {
        // The program was built for exactly one device, so there is one size and one binary.
        nuint size;
        if (OpenClNative.GetProgramInfo(program.Value, OpenClNative.ProgramBinarySizes, (nuint)sizeof(nuint), &size, null) != OpenClNative.Success
            || size == 0 || size > int.MaxValue)
        {
            return [];
        }

        var binary = new byte[(int)size];
        fixed (byte* b = binary)
        {
            byte* pointer = b;
            if (OpenClNative.GetProgramInfo(program.Value, OpenClNative.ProgramBinaries, (nuint)sizeof(nint), &pointer, null) != OpenClNative.Success)
            {
                return [];
            }
        }

        return binary;
    }

    /// <summary>Sets native kernel arguments from a generated descriptor's binder calls.</summary>
    private readonly struct ArgumentBinder(OpenClContext context, nint kernel, string entryPoint) : IKernelArgumentBinder
    {
        public void Buffer<T>(int index, IDeviceBuffer<T> buffer)
            where T : unmanaged
        {
            if (buffer is not OpenClBuffer<T> clBuffer || !clBuffer.BelongsTo(context))
            {
                throw new BackendException($"kernel '{entryPoint}' argument {index}: the buffer does not belong to this OpenCL context");
            }

            nint memory = clBuffer.NativeHandle;
            OpenClNative.Check(OpenClNative.SetKernelArg(kernel, (uint)index, (nuint)sizeof(nint), &memory), $"clSetKernelArg({entryPoint}, {index})");
        }

        public void Scalar<T>(int index, T value)
            where T : unmanaged =>
            OpenClNative.Check(OpenClNative.SetKernelArg(kernel, (uint)index, (nuint)sizeof(T), &value), $"clSetKernelArg({entryPoint}, {index})");

        public void Local<T>(int index, int length)
            where T : unmanaged
        {
            if (length < 0 || (long)length * sizeof(T) > context.Device.LocalMemoryBytes)
            {
                throw new BackendException($"kernel '{entryPoint}' argument {index}: {length} local elements exceed the device's {context.Device.LocalMemoryBytes} bytes of local memory");
            }

            OpenClNative.Check(OpenClNative.SetKernelArg(kernel, (uint)index, (nuint)(Math.Max(1L, length) * sizeof(T)), null), $"clSetKernelArg({entryPoint}, {index})");
        }
    }
}
