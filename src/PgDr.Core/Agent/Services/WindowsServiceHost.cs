using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace PgDr.Agent.Services;

/// <summary>
/// Runs the agent as a Windows service (pgdr agent --windows-service, as <see cref="AgentServiceDefinitions.WindowsBinaryPath"/>
/// registers it): the service control manager's protocol, which a console program must speak or be killed after 30 s
/// (error 1053). Stop and shutdown cancel the agent, which then parks the lease or fences its primary, as on SIGTERM.
/// </summary>
/// <remarks>Written against the documented advapi32 API; it cannot run on the Linux build machines (docs/agent.md).</remarks>
[SupportedOSPlatform("windows")]
public static unsafe partial class WindowsServiceHost
{
    private const uint ServiceWin32OwnProcess = 0x10;
    private const uint StateStopped = 1;
    private const uint StateStopPending = 3;
    private const uint StateRunning = 4;
    private const uint AcceptStop = 0x1;
    private const uint AcceptShutdown = 0x4;
    private const uint ControlStop = 1;
    private const uint ControlInterrogate = 4;
    private const uint ControlShutdown = 5;
    private const uint ErrorCallNotImplemented = 120;
    private const uint ErrorServiceSpecific = 1066;

    private static readonly CancellationTokenSource Stopping = new();
    private static Func<CancellationToken, Task>? s_run;
    private static string s_name = AgentServiceDefinitions.WindowsServiceName;
    private static nint s_handle;

    /// <summary>Hands the process to the service control manager; returns when the service stopped (0) or a Win32 error.</summary>
    public static int Run(string name, Func<CancellationToken, Task> run)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(run);
        s_name = name;
        s_run = run;
        fixed (char* serviceName = name)
        {
            var table = stackalloc ServiceTableEntry[2];
            table[0] = new ServiceTableEntry { Name = serviceName, Main = &ServiceMain };
            table[1] = default;
            return StartServiceCtrlDispatcherW(table) ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    [UnmanagedCallersOnly]
    private static void ServiceMain(uint argc, char** argv)
    {
        s_handle = RegisterServiceCtrlHandlerExW(s_name, &Control, 0);
        Report(StateRunning, AcceptStop | AcceptShutdown, 0);
        uint exit = 0;
        try
        {
            s_run!(Stopping.Token).GetAwaiter().GetResult();
        }
#pragma warning disable CA1031 // The service must report its stop, whatever ended it.
        catch (Exception)
#pragma warning restore CA1031
        {
            exit = ErrorServiceSpecific;
        }

        Report(StateStopped, 0, exit);
    }

    [UnmanagedCallersOnly]
    private static uint Control(uint control, uint eventType, nint eventData, nint context)
    {
        switch (control)
        {
            case ControlStop or ControlShutdown:
                Report(StateStopPending, 0, 0);
                Stopping.Cancel();
                return 0;
            case ControlInterrogate:
                return 0;
            default:
                return ErrorCallNotImplemented;
        }
    }

    private static void Report(uint state, uint accepted, uint exitCode)
    {
        var status = new ServiceStatus
        {
            ServiceType = ServiceWin32OwnProcess,
            CurrentState = state,
            ControlsAccepted = accepted,
            Win32ExitCode = exitCode,
            ServiceSpecificExitCode = exitCode == ErrorServiceSpecific ? 1u : 0u,
            WaitHint = state == StateStopPending ? 30_000u : 0u,
        };
        SetServiceStatus(s_handle, &status);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ServiceTableEntry
    {
        public char* Name;
        public delegate* unmanaged<uint, char**, void> Main;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ServiceStatus
    {
        public uint ServiceType;
        public uint CurrentState;
        public uint ControlsAccepted;
        public uint Win32ExitCode;
        public uint ServiceSpecificExitCode;
        public uint CheckPoint;
        public uint WaitHint;
    }

    [LibraryImport("advapi32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool StartServiceCtrlDispatcherW(ServiceTableEntry* table);

    [LibraryImport("advapi32.dll", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    private static partial nint RegisterServiceCtrlHandlerExW(string name, delegate* unmanaged<uint, uint, nint, nint, uint> handler, nint context);

    [LibraryImport("advapi32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool SetServiceStatus(nint handle, ServiceStatus* status);
}
