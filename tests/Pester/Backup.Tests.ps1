#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Base backups through the cmdlets on a real sandbox primary that archives through pgdr: Backup-PgCluster, Get-PgBackup,
# Test-PgBackup, Restore-PgCluster and Remove-PgBackup, with -WhatIf changing nothing, pipelines between them, error ids
# and the default views at 80 columns. The engine's behaviour is proved by the xunit tests (tests/Unit/Backup); these
# prove the cmdlets map onto it. Needs the module and pgdr built (./build.sh test builds both); runs as root too (CI).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $work = New-PgDrTestDirectory -Label 'backup'
    $pgdr = Install-PgDrForPostgres -Directory $work
    $sandbox = New-PgDrSandbox -Path (Join-Path $work 'sandbox') -StandbyCount 0 -Confirm:$false
    $primary = $sandbox.Primary.Instance
    $credential = Get-PgDrSandboxCredential -Path (Join-Path $work 'sandbox')
    $repository = New-Item -ItemType Directory -Path (Join-Path $work 'backup repo')
    $keyFile = Join-Path $work 'archive.key'
    [IO.File]::WriteAllText($keyFile, [Convert]::ToHexString([Security.Cryptography.RandomNumberGenerator]::GetBytes(32)))
    if (-not $IsWindows) { chmod 600 $keyFile }
    $configPath = Join-Path $work 'pgdr config.json'
    @{
        stanza       = 'pester'
        repositories = @(@{ name = 'local'; type = 'filesystem'; path = $repository.FullName })
        compression  = 'zstd'
        encryption   = @{ keyFile = $keyFile }
    } | ConvertTo-Json -Depth 5 | Set-Content $configPath
    Grant-PostgresAccess $repository.FullName, $keyFile, $configPath
    Set-PgWalArchiving $primary -Credential $credential -ConfigPath $configPath -PgDrPath $pgdr -Restart -Confirm:$false | Out-Null
    Test-PgWalArchiving $primary -Credential $credential -ForceSwitch -ConfigPath $configPath | Out-Null
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        Remove-PgDrSandbox -Path (Join-Path $work 'sandbox') -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
}

Describe 'Backup-PgCluster' {
    It 'takes nothing under -WhatIf' {
        Backup-PgCluster $primary -Credential $credential -ConfigPath $configPath -WhatIf
        Get-PgBackup -ConfigPath $configPath | Should -BeNullOrEmpty
    }

    It 'takes a full backup and reports its sizes, times and throughput' {
        $backup = Backup-PgCluster $primary -Credential $credential -ConfigPath $configPath -Confirm:$false
        $backup.Type | Should -Be 'Full'
        $backup.FileCount | Should -BeGreaterThan 500
        $backup.OriginalBytes | Should -BeGreaterThan $backup.StoredBytes
        $backup.ThroughputMBps | Should -BeGreaterThan 0
        $backup.Repositories | Should -Be @('local')
        Get-PgDrTableView $backup -Column Label, Type, Files, Size, Stored, Seconds | Should -Match "$($backup.Label).*MiB"
    }

    It 'builds an incremental on the full one' {
        $full = Get-PgBackup -ConfigPath $configPath | Select-Object -Last 1
        $incremental = Backup-PgCluster $primary -Credential $credential -ConfigPath $configPath -Type Incremental -Confirm:$false
        $incremental.Prior | Should -Be $full.Label
        $incremental.StoredFileCount | Should -BeLessThan $incremental.FileCount
    }
}

Describe 'Get-PgBackup' {
    It 'lists the backups with their consistency and the window they make restorable' {
        $backups = @(Get-PgBackup -ConfigPath $configPath)
        $backups.Count | Should -Be 2
        $backups | ForEach-Object { $_.Consistent | Should -BeTrue }
        $backups[1].References | Should -Contain $backups[0].Label
        Get-PgDrTableView $backups -Column Repository, Label, Stopped, Size, Stored, Consistent | Out-Null
        $window = Get-PgBackup -ConfigPath $configPath -Window
        $window.OldestBackup | Should -Be $backups[0].Label
        $window.Gaps.Count | Should -Be 0
        Get-PgDrTableView $window -Column Repository, From, Until, TL, Backups, Gaps | Out-Null
    }

    It 'filters by label with wildcards' {
        @(Get-PgBackup -ConfigPath $configPath -Label '*I').Count | Should -Be 1
    }
}

Describe 'Test-PgBackup' {
    It 'proves the latest backup by restoring it and answers -Quiet with one bool' {
        Test-PgBackup -ConfigPath $configPath -PgDrPath $pgdr -NoAmcheck -Quiet | Should -BeTrue
    }

    It 'takes backups from the pipeline and reports each step' {
        $result = Get-PgBackup -ConfigPath $configPath | Select-Object -First 1 | Test-PgBackup -PgDrPath $pgdr -NoAmcheck
        $result.Success | Should -BeTrue -Because $result.Error
        $result.Steps.Name | Should -Contain 'pg_verifybackup'
        Get-PgDrTableView $result -Column Label, Success, Restore, Recovery, Verify, Amcheck, Total | Out-Null
        Get-PgDrTableView $result.Steps -Column Name, Success, Seconds, Detail | Out-Null
    }
}

Describe 'Restore-PgCluster' {
    It 'writes nothing under -WhatIf' {
        $target = Join-Path $work 'what-if'
        Restore-PgCluster $target -ConfigPath $configPath -PgDrPath $pgdr -Immediate -TargetAction Promote -WhatIf
        Test-Path $target | Should -BeFalse
    }

    It 'restores the backup piped in, set up to recover to consistency' {
        $target = Join-Path $work 'restored'
        $restored = Get-PgBackup -ConfigPath $configPath | Select-Object -Last 1 |
            Restore-PgCluster -DataDirectory $target -PgDrPath $pgdr -Immediate -TargetAction Promote -ArchiveMode Off -Confirm:$false
        $restored.Applied | Should -BeTrue
        Test-Path (Join-Path $target 'global/pg_control') | Should -BeTrue
        Test-Path (Join-Path $target 'recovery.signal') | Should -BeTrue
        Get-Content (Join-Path $target 'postgresql.auto.conf') -Raw | Should -Match "restore_command = .*wal fetch"
        Get-PgDrTableView $restored -Column Label, Written, Size, Seconds, Target | Should -Match "MiB"
    }

    It 'refuses a non-empty directory with RestoreTargetNotEmpty' {
        { Restore-PgCluster (Join-Path $work 'restored') -ConfigPath $configPath -PgDrPath $pgdr -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'RestoreTargetNotEmpty,*'
    }
}

Describe 'Remove-PgBackup' {
    It 'removes nothing under -WhatIf' {
        Backup-PgCluster $primary -Credential $credential -ConfigPath $configPath -Confirm:$false | Out-Null
        Remove-PgBackup -ConfigPath $configPath -KeepFull 1 -WhatIf
        @(Get-PgBackup -ConfigPath $configPath).Count | Should -Be 3
    }

    It 'keeps the newest full backup and removes the older set with its WAL' {
        $removed = @(Remove-PgBackup -ConfigPath $configPath -KeepFull 1 -Confirm:$false)
        ($removed | Where-Object Kind -eq 'Backup').Count | Should -Be 2
        $removed | Where-Object Kind -eq 'Wal' | Should -Not -BeNullOrEmpty
        @(Get-PgBackup -ConfigPath $configPath).Count | Should -Be 1
        Get-PgDrTableView $removed -Column Repository, Kind, What, Objects, Stored, Removed | Out-Null
    }

    It 'refuses to remove the newest full backup' {
        $last = Get-PgBackup -ConfigPath $configPath
        { Remove-PgBackup -ConfigPath $configPath -Label $last.Label -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidRetention,*'
    }
}
