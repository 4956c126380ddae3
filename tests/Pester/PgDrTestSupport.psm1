# What the Pester suites share: where the built module and pgdr are, and folders the postgres OS account can use.
# PostgreSQL refuses to run as root, so when the tests run as root (CI) the servers, archive_command and
# restore_command run as postgres: everything they read must be reachable and owned by that account.

$script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')

function Get-PgDrModulePath {
    Join-Path $script:Root 'artifacts/module/PgDr/PgDr.psd1'
}

function Test-RunningAsRoot {
    -not $IsWindows -and (id -u) -eq '0'
}

function New-PgDrTestDirectory {
    <# A new folder under the temp directory (reachable by postgres, unlike a checkout under /root's home). #>
    param([Parameter(Mandatory)] [string] $Label)
    $parent = Join-Path ([IO.Path]::GetTempPath()) 'pgdr-pester'
    $path = Join-Path $parent "$Label-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    New-Item -ItemType Directory -Path $path -Force | Out-Null
    if (-not $IsWindows) { chmod 755 $parent $path }
    $path
}

function Grant-PostgresAccess {
    <# Hands files the server side reads (keys, configurations, repositories) to postgres when running as root. #>
    param([Parameter(Mandatory)] [string[]] $Path)
    if (Test-RunningAsRoot) { chown -R postgres: @Path }
}

function Install-PgDrForPostgres {
    <#
    Copies the built pgdr (the NativeAOT one when ./build.sh test or native published it, else the framework-dependent
    build output) into $Directory, executable by every account, and returns its path.
    #>
    param([Parameter(Mandatory)] [string] $Directory)
    $native = Join-Path $script:Root 'artifacts/pgdr-native/pgdr'
    $target = Join-Path $Directory 'bin'
    New-Item -ItemType Directory -Path $target -Force | Out-Null
    if (Test-Path $native) {
        Copy-Item $native $target
    }
    else {
        $built = Join-Path $script:Root 'src/PgDr.Cli/bin/Release/net8.0'
        if (-not (Test-Path (Join-Path $built 'pgdr'))) { throw "pgdr is not built: run ./build.sh build (looked in $native and $built)." }
        Copy-Item (Join-Path $built '*') $target -Recurse
    }
    if (-not $IsWindows) { chmod -R a+rX $target; chmod a+x (Join-Path $target 'pgdr') }
    Join-Path $target 'pgdr'
}

function Stop-PgDrTestServer {
    <#
    Stops a server a test built outside the sandbox's own list (New-PgStandby), through the engine's pg_ctl control, so
    that removing the sandbox leaves nothing running. A server that is not running is left as it is.
    #>
    param(
        [Parameter(Mandatory)] [string] $DataDirectory,
        [Parameter(Mandatory)] $Sandbox
    )
    if (Test-Path (Join-Path $DataDirectory 'PG_VERSION')) {
        # The engine lives in the module's own load context, where a type literal does not reach: take it from an object.
        $type = $Sandbox.GetType().Assembly.GetType('PgDr.Hosting.LocalCluster', $true)
        $cluster = [Activator]::CreateInstance($type, $Sandbox.Binaries, $DataDirectory, $Sandbox.RunAs)
        $cluster.ForceStopAsync([Threading.CancellationToken]::None).GetAwaiter().GetResult()
    }
}

function Get-PgDrFreePort {
    <# A loopback port nothing listens on now (taken and released at once). #>
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Get-PgDrPwshPath {
    <# The pwsh the build made (tests/PwshHost), for suites that need a session of their own. #>
    Join-Path $script:Root ($IsWindows ? 'artifacts/pwsh/pwsh.exe' : 'artifacts/pwsh/pwsh')
}

# Azurite's well-known development account (public, documented by Microsoft).
$script:AzuriteAccount = 'devstoreaccount1'
$script:AzuriteKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

function Start-PgDrTestEmulator {
    <#
    Starts s3rver (with one bucket) or Azurite (with one container) from tests/emulators on a free loopback port, as
    tests/Unit/Fixtures/EmulatorProcess.cs does, and waits until the port answers. Stop it with Stop-PgDrTestEmulator.
    The result carries what a PgDr configuration needs: Endpoint, and for Azurite a ConnectionString.
    #>
    param(
        [Parameter(Mandatory)] [ValidateSet('s3rver', 'azurite')] [string] $Kind,
        [Parameter(Mandatory)] [string] $BucketName
    )
    $tool = Join-Path $script:Root "tests/emulators/node_modules/.bin/$($Kind -eq 's3rver' ? 's3rver' : 'azurite-blob')"
    if (-not (Test-Path $tool)) { throw "$Kind is not installed: run npm ci --prefix tests/emulators (./build.sh test does)." }
    $directory = New-PgDrTestDirectory -Label $Kind
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
    $arguments = if ($Kind -eq 's3rver') {
        @('--address', '127.0.0.1', '--port', $port, '--directory', $directory, '--silent', '--configure-bucket', $BucketName)
    }
    else {
        @('--blobHost', '127.0.0.1', '--blobPort', $port, '--location', $directory, '--disableTelemetry', '--skipApiVersionCheck', '--loose', '--silent')
    }
    $start = [System.Diagnostics.ProcessStartInfo]::new($tool)
    foreach ($a in $arguments) { $start.ArgumentList.Add([string]$a) }
    $start.RedirectStandardOutput = $true; $start.RedirectStandardError = $true; $start.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($start)
    $emulator = [pscustomobject]@{ Kind = $Kind; Process = $process; Port = $port; Directory = $directory; Endpoint = "http://127.0.0.1:$port"; ConnectionString = $null }
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while ($true) {
        if ($process.HasExited) { throw "$Kind exited with $($process.ExitCode): $($process.StandardError.ReadToEnd())" }
        $client = [System.Net.Sockets.TcpClient]::new()
        try { $client.Connect('127.0.0.1', $port); break } catch { } finally { $client.Dispose() }
        if ([DateTime]::UtcNow -gt $deadline) { Stop-PgDrTestEmulator $emulator; throw "$Kind did not listen on port $port within 60 s." }
        Start-Sleep -Milliseconds 100
    }
    if ($Kind -eq 'azurite') {
        $emulator.Endpoint = "http://127.0.0.1:$port/$script:AzuriteAccount"
        $emulator.ConnectionString = "DefaultEndpointsProtocol=http;AccountName=$script:AzuriteAccount;AccountKey=$script:AzuriteKey;BlobEndpoint=$($emulator.Endpoint);"
        New-AzuriteContainer -Endpoint $emulator.Endpoint -Name $BucketName
    }
    $emulator
}

function New-AzuriteContainer {
    <# Creates a blob container with one Shared Key signed REST call (Create Container), so no Azure SDK is needed here. #>
    param([Parameter(Mandatory)] [string] $Endpoint, [Parameter(Mandatory)] [string] $Name)
    $date = [DateTime]::UtcNow.ToString('R')
    $version = '2021-08-06'
    $uri = [uri]"$Endpoint/$Name`?restype=container"
    $canonical = "PUT`n`n`n`n`n`n`n`n`n`n`n`nx-ms-date:$date`nx-ms-version:$version`n/$script:AzuriteAccount$($uri.AbsolutePath)`nrestype:container"
    $hmac = [System.Security.Cryptography.HMACSHA256]::new([Convert]::FromBase64String($script:AzuriteKey))
    $signature = [Convert]::ToBase64String($hmac.ComputeHash([Text.Encoding]::UTF8.GetBytes($canonical)))
    $headers = @{ 'x-ms-date' = $date; 'x-ms-version' = $version; Authorization = "SharedKey ${script:AzuriteAccount}:$signature" }
    Invoke-WebRequest -Method Put -Uri $uri -Headers $headers | Out-Null
}

function Stop-PgDrTestEmulator {
    param([Parameter(Mandatory)] $Emulator)
    if (-not $Emulator.Process.HasExited) { $Emulator.Process.Kill($true); $Emulator.Process.WaitForExit() }
    Remove-Item $Emulator.Directory -Recurse -Force -ErrorAction SilentlyContinue
}

function Get-PgDrSandboxCredential {
    <#
    A sandbox role's credential, read from the sandbox's pgpass file: the superuser by default (what a runbook's $cred
    stands for), or -User pgdr_replicator, the role its standbys stream as.
    #>
    param([Parameter(Mandatory)] [string] $Path, [string] $User = 'postgres')
    $line = Get-Content (Join-Path $Path '.pgpass') | Where-Object { ($_ -split ':')[3] -eq $User } | Select-Object -First 1
    [pscredential]::new($User, (ConvertTo-SecureString ($line -split ':', 5)[4] -AsPlainText -Force))
}

function Get-PgDrTableView {
    <#
    The default table of the objects as a user at an 80-column terminal sees it, checked as the issue asks: no line
    wider than 80, every column in -Column present in the header, and no type name where a value should be.
    Returns the text, so a test can look further.
    #>
    param([Parameter(Mandatory)] [object[]] $InputObject, [Parameter(Mandatory)] [string[]] $Column)
    $text = $InputObject | Format-Table | Out-String -Width 80
    $lines = $text -split "`n" | ForEach-Object TrimEnd | Where-Object { $_ }
    $wide = @($lines | Where-Object { $_.Length -gt 80 })
    if ($wide) { throw "lines wider than 80 columns:`n$($wide -join "`n")" }
    $header = ($lines | Select-Object -First 1) -split '\s+'
    $missing = @($Column | Where-Object { $_ -notin $header })
    if ($missing) { throw "the table has no column $($missing -join ', '):`n$text" }
    if ($text -match '(PgDr|System)\.[A-Z][A-Za-z.]+|\[\]') { throw "a type name instead of a value ('$($Matches[0])'):`n$text" }
    $text
}

Export-ModuleMember -Function Get-PgDrSandboxCredential, Get-PgDrTableView, Get-PgDrModulePath, Get-PgDrPwshPath, Test-RunningAsRoot, New-PgDrTestDirectory, Grant-PostgresAccess, Install-PgDrForPostgres,
    Start-PgDrTestEmulator, Stop-PgDrTestEmulator, Stop-PgDrTestServer, Get-PgDrFreePort
