#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The packages ./build.sh package makes (build/Package.proj), unpacked and imported in a pwsh of their own: the folder
# Publish-PSResource / Install-Module take, and the Azure Automation zip, each carrying the NativeAOT pgdr as
# bin/<rid>/pgdr, which the imported module uses for archive_command and installs with Install-PgDrExecutable (the
# Debian package itself is installed by tests/Unit/Packaging/DebianPackageTests). PSResourceGet is not on the package mirror,
# so the Gallery folder is checked for what it checks (a valid manifest with LicenseUri, ProjectUri and ReleaseNotes, the
# folder named like the module, nothing else in it) and installed the way Install-Module lays it out.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    $root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $gallery = Join-Path $root 'artifacts/package/gallery/PgDr'
    $zip = Join-Path $root 'artifacts/package/PgDr.zip'
    if (-not (Test-Path (Join-Path $gallery 'PgDr.psd1'))) { throw "no package in ${gallery}: run ./build.sh package (./build.sh test does)." }
    $work = New-PgDrTestDirectory -Label 'package'

    # A fresh pwsh that imports the module from $ModulePath (a name resolved through PSModulePath, or a path) and runs it.
    function Invoke-ImportedModule([string] $ModulePath, [string] $PSModulePath) {
        $script = @'
param($ModulePath, $InstallPath)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$module = Get-Module PgDr
Get-PgDrNode '127.0.0.1:1' -ErrorAction SilentlyContinue -ErrorVariable failed
# The pgdr archive_command would get without -PgDrPath: located (and said in -Verbose) before any node is reached.
$located = Set-PgWalArchiving '127.0.0.1:1' -ConfigPath /etc/pgdr/pgdr.json -WhatIf -Verbose -ErrorAction SilentlyContinue 4>&1 |
    Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'archive_command runs *' }
$installed = Install-PgDrExecutable -Path $InstallPath -Confirm:$false
$again = Install-PgDrExecutable -Path $InstallPath -Confirm:$false
[pscustomobject]@{
    Located  = "$($located.Message)".Replace('archive_command runs ', '')
    Installed = $installed.Path
    InstalledFrom = $installed.Source
    InstalledBuild = "$($installed.Build)"
    FirstAction = "$($installed.Action)"
    SecondAction = "$($again.Action)"
    InstalledVersion = & $installed.Path --version
    Version  = "$($module.Version)"
    Base     = $module.ModuleBase
    Cmdlets  = $module.ExportedCmdlets.Count
    ErrorId  = $failed[0].FullyQualifiedErrorId
    Synopsis = (Get-Help Get-PgReplicationLag).Synopsis
    Engine   = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(([System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PgDr.Core' })).Name
} | ConvertTo-Json
'@
        $file = Join-Path $work 'import.ps1'
        Set-Content $file $script
        $saved = $env:PSModulePath
        if ($PSModulePath) { $env:PSModulePath = $PSModulePath }
        $installPath = Join-Path $work "usr local bin $([guid]::NewGuid().ToString('N').Substring(0, 6))/pgdr"
        try { $output = & (Get-PgDrPwshPath) -NoProfile -NonInteractive -File $file -ModulePath $ModulePath -InstallPath $installPath 2>&1 }
        finally { $env:PSModulePath = $saved }
        if ($LASTEXITCODE -ne 0) { throw "pwsh failed ($LASTEXITCODE): $output" }
        ($output | Out-String) | ConvertFrom-Json
    }
    $exported = (Import-PowerShellDataFile (Join-Path $gallery 'PgDr.psd1')).CmdletsToExport.Count
    $rid = "linux-$([System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant())"
    $native = Join-Path $root 'artifacts/pgdr-native/pgdr'

    # What an imported module must pick for archive_command: an installed pgdr first, else its own bin/<rid>/pgdr.
    function Get-ExpectedPgDr([string] $ModuleBase) {
        $installed = @('/usr/bin/pgdr', '/usr/local/bin/pgdr') | Where-Object { Test-Path $_ } | Select-Object -First 1
        $installed ?? (Join-Path $ModuleBase "bin/$rid/pgdr")
    }

    function Assert-ModulePgDr($Imported) {
        $Imported.Located | Should -Be (Get-ExpectedPgDr $Imported.Base)
        $Imported.InstalledFrom | Should -Be (Join-Path $Imported.Base "bin/$rid/pgdr")
        $Imported.InstalledBuild | Should -Be 'NativeAot'
        $Imported.FirstAction | Should -Be 'Install'
        $Imported.SecondAction | Should -Be 'None'
        $Imported.InstalledVersion | Should -BeLike "$($Imported.Version)*"
        (Get-FileHash $Imported.Installed).Hash | Should -Be (Get-FileHash $native).Hash
    }
}

AfterAll {
    if ($work -and (Test-Path $work)) { Remove-Item $work -Recurse -Force }
}

Describe 'The PowerShell Gallery folder' {
    It 'is a valid module manifest for PowerShell 7.4 with the Gallery''s metadata' {
        $manifest = Test-ModuleManifest (Join-Path $gallery 'PgDr.psd1')
        $manifest.Name | Should -Be 'PgDr'
        $manifest.PowerShellVersion | Should -Be '7.4'
        $manifest.LicenseUri | Should -Not -BeNullOrEmpty
        $manifest.ProjectUri | Should -Not -BeNullOrEmpty
        $manifest.ReleaseNotes | Should -Not -BeNullOrEmpty
        $manifest.Tags | Should -Contain 'PSEdition_Core'
    }

    It 'holds only the module: manifest, views, types, help, the loader, the cmdlets and Dependencies' {
        $files = Get-ChildItem $gallery -Recurse -File | ForEach-Object { [IO.Path]::GetRelativePath($gallery, $_.FullName) -replace '\\', '/' }
        $stray = $files | Where-Object { $_ -notmatch '^(PgDr\.psd1|PgDr\.(format|types)\.ps1xml|PgDr\.Cmdlets\.dll|PgDr\.Loader\.dll|en-US/(PgDr\.Cmdlets\.dll-Help\.xml|about_PgDr\.help\.txt)|Dependencies/[^/]+\.dll|bin/(linux|win|osx)-(x64|arm64)/pgdr(\.exe)?)$' }
        $stray | Should -BeNullOrEmpty
        $files | Should -Contain 'Dependencies/PgDr.Core.dll'
    }

    It 'carries the NativeAOT pgdr it was built with, executable, as bin/<rid>/pgdr' {
        $pgdr = Join-Path $gallery "bin/$rid/pgdr"
        (Get-FileHash $pgdr).Hash | Should -Be (Get-FileHash $native).Hash
        (Get-Item $pgdr).UnixFileMode.HasFlag([System.IO.UnixFileMode]::OtherExecute) | Should -BeTrue
        & $pgdr --version | Should -BeLike "$((Import-PowerShellDataFile (Join-Path $gallery 'PgDr.psd1')).ModuleVersion)*"
    }

    It 'imports by name once laid out as Install-Module lays it out (Modules/PgDr/VERSION)' {
        $version = (Import-PowerShellDataFile (Join-Path $gallery 'PgDr.psd1')).ModuleVersion
        $modules = Join-Path $work 'installed Modules'
        Copy-Item $gallery (New-Item -ItemType Directory (Join-Path $modules "PgDr")).FullName -Recurse
        Rename-Item (Join-Path $modules 'PgDr/PgDr') $version
        $imported = Invoke-ImportedModule -ModulePath 'PgDr' -PSModulePath $modules
        $imported.Version | Should -Be $version
        $imported.Base | Should -BeLike "*installed Modules*"
        $imported.Cmdlets | Should -Be $exported
        $imported.ErrorId | Should -BeLike 'HostUnreachable,*'
        $imported.Synopsis | Should -Match 'replication lag'
        $imported.Engine | Should -Be 'PgDr'
        Assert-ModulePgDr $imported
    }
}

Describe 'The Azure Automation zip' {
    It 'is named like the module and holds one folder of that name with the manifest' {
        Split-Path $zip -Leaf | Should -Be 'PgDr.zip'
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $archive = [System.IO.Compression.ZipFile]::OpenRead($zip)
        try { $entries = $archive.Entries.FullName -replace '\\', '/' } finally { $archive.Dispose() }
        $entries | ForEach-Object { ($_ -split '/')[0] } | Sort-Object -Unique | Should -Be 'PgDr'
        $entries | Should -Contain 'PgDr/PgDr.psd1'
        $entries | Should -Contain 'PgDr/Dependencies/PgDr.Core.dll'
        $entries | Should -Contain "PgDr/bin/$rid/pgdr"
    }

    It 'imports from where it is unpacked (a path with spaces) and runs' {
        $target = Join-Path $work 'automation modules'
        # Expand-Archive's module is not part of the SDK-built pwsh; the framework's ZipFile is what it uses.
        [System.IO.Compression.ZipFile]::ExtractToDirectory($zip, $target)
        $imported = Invoke-ImportedModule -ModulePath (Join-Path $target 'PgDr/PgDr.psd1')
        $imported.Cmdlets | Should -Be $exported
        $imported.ErrorId | Should -BeLike 'HostUnreachable,*'
        $imported.Engine | Should -Be 'PgDr'
        Assert-ModulePgDr $imported
    }
}

Describe 'The Debian package' {
    It 'is built beside the module packages, named pgdr_VERSION_amd64.deb' -Skip:(-not (Test-Path /usr/bin/dpkg-deb)) {
        if ($rid -ne 'linux-x64') { Set-ItResult -Skipped -Because "the amd64 package is built from linux-x64 (this is $rid)" }
        $version = (Import-PowerShellDataFile (Join-Path $gallery 'PgDr.psd1')).ModuleVersion
        Join-Path $root "artifacts/package/pgdr_${version}_amd64.deb" | Should -Exist
    }
}
