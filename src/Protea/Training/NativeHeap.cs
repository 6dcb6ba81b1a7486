using System.Runtime.InteropServices;

namespace Protea.Training;

/// <summary>
/// Gives freed native heap memory back to the OS. libtorch and ONNX Runtime free large buffers
/// through glibc's malloc, which keeps them mapped; without a trim the resident set creeps up from
/// epoch to epoch although nothing leaks. Tensor wrappers TorchSharp could not dispose (handles from
/// state_dict, autograd results) hold native memory until finalised, so they are collected first.
/// </summary>
public static class NativeHeap
{
    public static void Trim()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        if (!OperatingSystem.IsLinux()) return;
        try { malloc_trim(0); }
        catch (EntryPointNotFoundException) { } // not glibc (e.g. musl): nothing to trim
        catch (DllNotFoundException) { }
    }

    [DllImport("libc")]
    private static extern int malloc_trim(nuint pad);
}
