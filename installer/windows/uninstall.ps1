<#
.SYNOPSIS
  Removes Backroom for the current user. The data and backups are kept unless -Purge is
  given and confirmed.
#>
param(
    [switch]$Purge,
    [switch]$Yes
)
$ErrorActionPreference = 'Stop'
$prefix = Join-Path $env:LOCALAPPDATA 'Backroom'
$target = Join-Path $prefix 'backroom.exe'

Get-ScheduledTask -TaskName 'Backroom' -ErrorAction SilentlyContinue | Stop-ScheduledTask -ErrorAction SilentlyContinue
Unregister-ScheduledTask -TaskName 'Backroom' -Confirm:$false -ErrorAction SilentlyContinue
$running = @(Get-Process -Name 'backroom' -ErrorAction SilentlyContinue | Where-Object { $_.Path -eq $target })
if ($running.Count -gt 0) {
    $running | Stop-Process -Force -ErrorAction SilentlyContinue
    $running | Wait-Process -Timeout 60 -ErrorAction SilentlyContinue
}
Remove-Item -LiteralPath (Join-Path ([Environment]::GetFolderPath('Programs')) 'Backroom.url') -ErrorAction SilentlyContinue
Remove-Item -LiteralPath $target -ErrorAction SilentlyContinue

if ($Purge) {
    if (-not $Yes) {
        $answer = Read-Host "This deletes ALL Backroom data and backups in $prefix. Type DELETE to confirm"
        if ($answer -ne 'DELETE') {
            Write-Host "Nothing was deleted. The program is removed; the data is kept in $prefix."
            exit 0
        }
    }
    Remove-Item -LiteralPath $prefix -Recurse -Force -ErrorAction SilentlyContinue
    Write-Host 'Backroom and all its data were removed.'
} else {
    Write-Host "Backroom was removed. Your data and backups are kept in $prefix."
}
