<#
.SYNOPSIS
    PgDr's build tasks for PowerShell users: Build, Test, Package. build.sh does the same where PowerShell is absent.
.EXAMPLE
    ./build.ps1 -Task Test
    Builds, runs the xunit suite against real PostgreSQL, then the Pester suites against the built module.
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$moduleFolder = Join-Path $root 'artifacts/module/PgDr'

function Invoke-Build {
    dotnet build (Join-Path $root 'PgDr.sln') -c $Configuration -nologo -v quiet
    if ($LASTEXITCODE -ne 0) { throw "dotnet build failed ($LASTEXITCODE)." }
}

function Get-HostRuntimeIdentifier {
    $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
    "$os-$([System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant())"
}

function Test-NativeToolchain {
    # What NativeAOT links with: the MSVC tools on Windows (found through vswhere), Xcode's on macOS, clang and zlib's
    # headers on Linux.
    if ($IsWindows) { return Test-Path (Join-Path ${env:ProgramFiles(x86)} 'Microsoft Visual Studio/Installer/vswhere.exe') }
    if ($IsMacOS) { return [bool](Get-Command xcrun -ErrorAction SilentlyContinue) }
    [bool](Get-Command clang -ErrorAction SilentlyContinue) -and (Test-Path /usr/include/zlib.h)
}

function Invoke-PublishPgDr {
    # artifacts/pgdr: *the* pgdr of this platform, NativeAOT (as ./build.sh package does); the framework-dependent build
    # only where AOT cannot be built, and then it says so (here, and in the server log at every archive_command call).
    # artifacts/pgdr-rids/<rid>: what the module packages carry as bin/<rid>/pgdr.
    $rid = Get-HostRuntimeIdentifier
    $name = $IsWindows ? 'pgdr.exe' : 'pgdr'
    $pgdr = Join-Path $root 'artifacts/pgdr'
    Remove-Item $pgdr -Recurse -Force -ErrorAction SilentlyContinue
    $project = Join-Path $root 'src/PgDr.Cli/PgDr.Cli.csproj'
    if (Test-NativeToolchain) {
        $native = Join-Path $root 'artifacts/pgdr-native'
        dotnet publish $project -c $Configuration -r $rid -p:PublishAot=true -o $native -nologo -v quiet
        if ($LASTEXITCODE -ne 0) { throw "the NativeAOT publish failed ($LASTEXITCODE)." }
        $rids = New-Item -ItemType Directory -Force (Join-Path $root "artifacts/pgdr-rids/$rid")
        New-Item -ItemType Directory -Force $pgdr | Out-Null
        Copy-Item (Join-Path $native $name) $pgdr
        Copy-Item (Join-Path $native $name) $rids
    }
    else {
        Write-Warning 'NativeAOT cannot be built here (Linux: clang and zlib1g-dev; Windows: the Visual Studio C++ build tools).'
        Write-Warning 'artifacts/pgdr is the framework-dependent build: the slow one as archive_command (it warns in the server log).'
        Remove-Item (Join-Path $root "artifacts/pgdr-rids/$rid") -Recurse -Force -ErrorAction SilentlyContinue
        dotnet publish $project -c $Configuration -o $pgdr -nologo -v quiet
        if ($LASTEXITCODE -ne 0) { throw "dotnet publish failed ($LASTEXITCODE)." }
    }
}

function Invoke-Package {
    Invoke-Build
    Invoke-PublishPgDr
    # The module as shipped, carrying bin/<rid>/pgdr: artifacts/package/gallery/PgDr (Publish-PSResource),
    # artifacts/package/PgDr.zip (Azure Automation), and on Linux with dpkg-deb the Debian package.
    dotnet msbuild (Join-Path $root 'build/Package.proj') -t:Package -nologo -v:minimal
    if ($LASTEXITCODE -ne 0) { throw "packaging failed ($LASTEXITCODE)." }
    Write-Verbose "Module folder: $moduleFolder"
}

function Invoke-Test {
    Invoke-Package
    npm ci --prefix (Join-Path $root 'tests/emulators') --no-audit --no-fund --loglevel=error
    # The Pester suites run in the pwsh the build made, with the Pester it pinned (tests/PwshHost), beside xunit as
    # ./build.sh test runs them (both mostly wait on servers); Pester's output follows xunit's.
    $results = Join-Path $root 'artifacts/test-results'
    New-Item -ItemType Directory -Force -Path $results | Out-Null
    $pwshHost = Join-Path $root ($IsWindows ? 'artifacts/pwsh/pwsh.exe' : 'artifacts/pwsh/pwsh')
    $pester = Start-Process -FilePath $pwshHost -NoNewWindow -PassThru `
        -ArgumentList '-NoProfile', '-NonInteractive', '-File', (Join-Path $root 'tests/Pester/Invoke-PgDrPester.ps1') `
        -RedirectStandardOutput (Join-Path $results 'pester.log') -RedirectStandardError (Join-Path $results 'pester.err.log')
    try {
        # The .trx keeps each test's duration (artifacts/test-results/xunit.trx), to find what makes the suite long.
        dotnet test (Join-Path $root 'PgDr.sln') -c $Configuration --no-build -nologo `
            --logger 'trx;LogFileName=xunit.trx' --results-directory $results
        $dotnetFailed = $LASTEXITCODE -ne 0
        $pester.WaitForExit()
    }
    finally {
        if (-not $pester.HasExited) { $pester.Kill($true) }
    }
    Get-Content (Join-Path $results 'pester.log'), (Join-Path $results 'pester.err.log')
    $pesterFailed = $pester.ExitCode -ne 0
    if ($dotnetFailed -or $pesterFailed) {
        throw "Tests failed (xunit: $($dotnetFailed ? 'failed' : 'passed'), Pester: $($pesterFailed ? 'failed' : 'passed'))."
    }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Package' { Invoke-Package }
}
