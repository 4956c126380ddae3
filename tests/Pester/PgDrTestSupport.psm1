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
        [PgDr.Hosting.LocalCluster]::new($Sandbox.Binaries, $DataDirectory, $Sandbox.RunAs).ForceStopAsync([Threading.CancellationToken]::None).GetAwaiter().GetResult()
    }
}

function Get-PgDrFreePort {
    <# A loopback port nothing listens on now (taken and released at once). #>
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

Export-ModuleMember -Function Get-PgDrModulePath, Test-RunningAsRoot, New-PgDrTestDirectory, Grant-PostgresAccess, Install-PgDrForPostgres, Stop-PgDrTestServer, Get-PgDrFreePort
