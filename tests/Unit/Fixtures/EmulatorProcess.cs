using System.Diagnostics;
using System.Net.Sockets;

namespace PgDr.Tests.Fixtures;

/// <summary>
/// An object-storage emulator from tests/emulators (npm: azurite, s3rver) running as a child process on a loopback port,
/// killed with its process tree on dispose.
/// </summary>
public sealed class EmulatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private EmulatorProcess(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    /// <summary>The emulator's data directory (removed on dispose).</summary>
    public string Directory { get; }

    /// <summary>tests/emulators of this checkout, found upwards from the test assembly.</summary>
    public static string EmulatorsDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "emulators");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("tests/emulators/package.json was not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Starts node_modules/.bin/<paramref name="tool"/> with the arguments <paramref name="arguments"/> gives for a
    /// free port and a fresh data directory, and waits until the port accepts connections.</summary>
    public static Task<EmulatorProcess> StartAsync(string tool, Func<int, string, IEnumerable<string>> arguments, TimeSpan timeout)
    {
        var emulators = EmulatorsDirectory();
        var executable = Path.Combine(emulators, "node_modules", ".bin", tool);
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"The {tool} emulator is not installed ({executable} is missing). Run `npm ci --prefix tests/emulators` from the repository root first.");
        }

        return StartExecutableAsync(executable, arguments, timeout);
    }

    /// <summary>The same for an emulator installed elsewhere (moto_server comes from pip), named by its path, with
    /// <paramref name="environment"/> added to its own environment only (fixtures start in parallel).</summary>
    public static async Task<EmulatorProcess> StartExecutableAsync(
        string executable, Func<int, string, IEnumerable<string>> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var tool = Path.GetFileName(executable);
        var directory = TestDirectories.Path($"{tool}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        var port = Ports.Closed();
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in arguments(port, directory))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var emulator = new EmulatorProcess(process, port, directory);
        process.OutputDataReceived += (_, e) => emulator.Remember(e.Data);
        process.ErrorDataReceived += (_, e) => emulator.Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + timeout;
        var delay = TimeSpan.FromMilliseconds(25);
        while (true)
        {
            if (process.HasExited)
            {
                await emulator.DisposeAsync();
                throw new InvalidOperationException($"{tool} exited with {process.ExitCode} before listening on port {port}: {emulator.Output()}");
            }

            if (await AcceptsConnectionsAsync(port))
            {
                return emulator;
            }

            if (DateTime.UtcNow > deadline)
            {
                var output = emulator.Output();
                await emulator.DisposeAsync();
                throw new TimeoutException($"{tool} did not listen on port {port} within {timeout.TotalSeconds:0} s: {output}");
            }

            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 200));
        }
    }

    public string Output()
    {
        lock (_output)
        {
            return string.Join(" | ", _output);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }

        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it lives in the temp directory.
        }
    }

    private void Remember(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > 20)
            {
                _output.Dequeue();
            }
        }
    }

    private static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
