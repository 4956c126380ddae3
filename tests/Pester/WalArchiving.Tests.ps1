#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# WAL archiving through the cmdlets on a real sandbox primary: settings with -WhatIf, archiving end to end,
# the archive listing. Needs the module and pgdr built (./build.ps1 -Task Test builds both) and a user
# PostgreSQL can run as (not root).

BeforeAll {
    $root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    Import-Module (Join-Path $root 'artifacts/module/PgDr/PgDr.psd1') -Force
    $pgdr = Join-Path $root 'artifacts/pgdr/pgdr'
    $work = Join-Path ([IO.Path]::GetTempPath()) "pgdr-pester-archive-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    $sandbox = New-PgDrSandbox -Path (Join-Path $work 'sandbox') -StandbyCount 0 -Confirm:$false
    $primary = $sandbox.Primary.Instance
    $repository = New-Item -ItemType Directory -Path (Join-Path $work 'repo')
    $keyFile = Join-Path $work 'archive.key'
    [IO.File]::WriteAllText($keyFile, [Convert]::ToHexString([Security.Cryptography.RandomNumberGenerator]::GetBytes(32)))
    if (-not $IsWindows) { chmod 600 $keyFile }
    $configPath = Join-Path $work 'pgdr.json'
    @{
        stanza       = 'pester'
        repositories = @(@{ name = 'local'; type = 'filesystem'; path = $repository.FullName })
        compression  = 'zstd'
        encryption   = @{ keyFile = $keyFile }
    } | ConvertTo-Json -Depth 5 | Set-Content $configPath
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        Remove-PgDrSandbox -Path (Join-Path $work 'sandbox') -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
}

Describe 'Set-PgWalArchiving' {
    It 'changes nothing under -WhatIf' {
        Set-PgWalArchiving $primary -ConfigPath $configPath -PgDrPath $pgdr -WhatIf
        (Test-PgWalArchiving $primary).ArchiveMode | Should -Be 'off'
    }

    It 'reports each setting old -> new and restarts the sandbox node with -Restart' {
        $change = Set-PgWalArchiving $primary -ConfigPath $configPath -PgDrPath $pgdr -Restart -Confirm:$false
        ($change.Settings | Where-Object Name -eq 'archive_mode').OldValue | Should -Be 'off'
        ($change.Settings | Where-Object Name -eq 'archive_mode').NewValue | Should -Be 'on'
        $change.Restarted | Should -BeTrue
        $change.RestartPending | Should -BeFalse
    }
}

Describe 'Test-PgWalArchiving' {
    It 'archives a forced segment switch into the repository within the deadline' {
        $health = Test-PgWalArchiving $primary -ForceSwitch -Deadline 00:01:00 -ConfigPath $configPath
        $health.Healthy | Should -BeTrue -Because ($health.Reasons -join '; ')
        $health.UsesPgDr | Should -BeTrue
        $health.SwitchArchivedAfter | Should -Not -BeNullOrEmpty
    }

    It 'answers -Quiet with one bool' {
        Test-PgWalArchiving $primary -Quiet | Should -BeTrue
    }
}

Describe 'Get-PgWalArchive' {
    It 'lists a continuous first timeline' {
        $timeline = Get-PgWalArchive -ConfigPath $configPath
        $timeline.Timeline | Should -Be 1
        $timeline.SegmentCount | Should -BeGreaterThan 0
        $timeline.Continuous | Should -BeTrue
    }

    It 'fails with ConfigNotFound for a missing configuration file' {
        { Get-PgWalArchive -ConfigPath (Join-Path $work 'absent.json') -ErrorAction Stop } | Should -Throw -ErrorId 'ConfigNotFound,*'
    }
}
